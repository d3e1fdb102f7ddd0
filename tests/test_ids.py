"""Ids are random UUID4s in their usual text form."""

from __future__ import annotations

import uuid

from sluice.ids import new_id


def test_new_id_is_a_random_uuid4_as_uuid_writes_it():
    ids = [new_id() for _ in range(2000)]
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    assert len(set(ids)) == len(ids)
