"""API keys: shown once, stored hashed, verified in constant time, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sluice.store import Database
from sluice.store.keys import key_id_of


@pytest.mark.anyio
async def test_a_created_key_verifies(db: Database):
    plaintext = await db.keys.create_key("ci")
    assert plaintext.startswith("sluice_")
    record = await db.keys.verify_key(plaintext)
    assert record is not None
    assert (record.id, record.name, record.is_revoked) == (key_id_of(plaintext), "ci", False)


@pytest.mark.anyio
async def test_only_a_salted_hash_is_stored(db: Database):
    plaintext = await db.keys.create_key("ci")
    secret = plaintext[len("sluice_0123456789abcdef_") :]
    [row] = await db.run(lambda c: c.execute(text("SELECT * FROM api_keys")).mappings().all())
    stored = " ".join(str(value) for value in row.values())
    assert secret not in stored
    assert plaintext not in stored
    assert len(row["digest"]) == 64
    assert len(row["salt"]) == 32


@pytest.mark.anyio
async def test_two_keys_differ(db: Database):
    assert await db.keys.create_key("a") != await db.keys.create_key("a")


@pytest.mark.anyio
async def test_a_wrong_secret_is_rejected(db: Database):
    plaintext = await db.keys.create_key("ci")
    tampered = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
    assert await db.keys.verify_key(tampered) is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    "plaintext", ["", "sluice_", "sluice__", "nonsense", "sluice_0123456789abcdef_secret"]
)
async def test_malformed_or_unknown_keys_are_rejected(db: Database, plaintext: str):
    await db.keys.create_key("ci")
    assert await db.keys.verify_key(plaintext) is None


@pytest.mark.anyio
async def test_a_revoked_key_is_rejected(db: Database):
    plaintext = await db.keys.create_key("ci")
    key_id = key_id_of(plaintext)
    assert key_id is not None
    assert await db.keys.revoke_key(key_id) is True
    assert await db.keys.verify_key(plaintext) is None
    assert await db.keys.revoke_key(key_id) is False
    [record] = await db.keys.list_keys()
    assert record.is_revoked


@pytest.mark.anyio
async def test_list_keys_oldest_first(db: Database):
    for name in ("first", "second", "third"):
        await db.keys.create_key(name)
    assert [key.name for key in await db.keys.list_keys()] == ["first", "second", "third"]


@pytest.mark.anyio
async def test_a_key_needs_a_name(db: Database):
    with pytest.raises(ValueError, match="name: expected 1 to 200 characters"):
        await db.keys.create_key("")
