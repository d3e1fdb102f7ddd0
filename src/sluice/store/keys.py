"""API keys: issued once in plaintext, stored as a salted SHA-256 hash, checked in constant time.

A key reads ``sluice_<id>_<secret>``: ``id`` (16 hex characters) is public and finds the
row; ``secret`` is 32 random bytes (``secrets.token_urlsafe``) and only its hash,
``sha256(salt + secret)`` with 16 random bytes of salt per key, is stored. A slow
password hash (scrypt, argon2) defends guessable secrets; these have 256 bits of entropy,
so it would buy no safety and would cost tens of milliseconds of CPU on every request —
the choice GitHub's and Stripe's API tokens make too. The comparison uses
``hmac.compare_digest``, and an unknown id costs the same hash as a known one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import RowMapping, insert, select, update

from sluice.store.connection import Connector, as_utc
from sluice.store.models import APIKey
from sluice.store.types import KeyRecord

KEY_PREFIX = "sluice_"
_MAX_NAME_LENGTH = 200
_DUMMY_SALT = bytes(16)
_DUMMY_DIGEST = hashlib.sha256(_DUMMY_SALT).hexdigest()


class KeyRepository:
    """Issue, check, list and revoke API keys."""

    def __init__(self, connector: Connector):
        self._db = connector

    async def create_key(self, name: str) -> str:
        """Issue a key named ``name``; returns the plaintext, which is never stored or shown
        again."""
        if not name or len(name) > _MAX_NAME_LENGTH:
            raise ValueError(f"name: expected 1 to {_MAX_NAME_LENGTH} characters, got {len(name)}")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        row = insert(APIKey).values(
            id=key_id,
            name=name,
            salt=salt.hex(),
            digest=_digest(salt, secret),
            created_at=self._db.now(),
            revoked_at=None,
        )
        await self._db.run(lambda c: c.execute(row))
        return f"{KEY_PREFIX}{key_id}_{secret}"

    async def verify_key(self, plaintext: str) -> KeyRecord | None:
        """The key's record when ``plaintext`` is a valid, unrevoked key; ``None`` otherwise."""
        key_id, secret = _split(plaintext)
        row = await self._find(key_id) if key_id else None
        if row is None:
            hmac.compare_digest(_digest(_DUMMY_SALT, secret), _DUMMY_DIGEST)
            return None
        is_match = hmac.compare_digest(_digest(bytes.fromhex(row["salt"]), secret), row["digest"])
        if not is_match or row["revoked_at"] is not None:
            return None
        return _record(row)

    async def _find(self, key_id: str) -> RowMapping | None:
        query = select(APIKey).where(APIKey.c.id == key_id)
        found: RowMapping | None = await self._db.read(
            lambda c: c.execute(query).mappings().one_or_none()
        )
        return found

    async def list_keys(self) -> list[KeyRecord]:
        """Every key, revoked ones too, oldest first."""
        query = select(APIKey).order_by(APIKey.c.created_at, APIKey.c.id)
        rows = await self._db.read(lambda c: c.execute(query).mappings().all())
        return [_record(row) for row in rows]

    async def revoke_key(self, key_id: str) -> bool:
        """Revoke a key by its id; ``False`` when there is no such key or it was revoked."""
        query = (
            update(APIKey)
            .where(APIKey.c.id == key_id, APIKey.c.revoked_at.is_(None))
            .values(revoked_at=self._db.now())
        )
        revoked: int = await self._db.run(lambda c: c.execute(query).rowcount)
        return revoked > 0


def key_id_of(plaintext: str) -> str | None:
    """The public id part of a key, for logs; ``None`` when it is not shaped like a key."""
    key_id, _ = _split(plaintext)
    return key_id or None


def _split(plaintext: str) -> tuple[str, str]:
    if not plaintext.startswith(KEY_PREFIX):
        return "", plaintext
    key_id, _, secret = plaintext.removeprefix(KEY_PREFIX).partition("_")
    return key_id, secret


def _digest(salt: bytes, secret: str) -> str:
    return hashlib.sha256(salt + secret.encode(errors="replace")).hexdigest()


def _record(row: RowMapping) -> KeyRecord:
    revoked_at = None if row["revoked_at"] is None else as_utc(row["revoked_at"])
    return KeyRecord(row["id"], row["name"], as_utc(row["created_at"]), revoked_at)
