"""Definitions: flows, integrations and models created through the API, as JSON documents.

The store keeps a document as given and checks nothing in it; the API validates it with
the same pydantic models that read definition files before calling ``put_definition``.
"""

from __future__ import annotations

from sqlalchemy import RowMapping, delete, select

from sluice.events import JSONObject
from sluice.store.connection import Connector, as_utc
from sluice.store.models import Definition
from sluice.store.types import DefinitionRecord, check_id

_COLUMNS = (
    Definition.c.kind,
    Definition.c.id,
    Definition.c.document,
    Definition.c.created_at,
    Definition.c.updated_at,
)


class DefinitionRepository:
    """Create or replace, read, list and delete definitions by ``kind`` and id.

    ``kind`` is a short name such as ``flow``, ``integration`` or ``model``; ids are unique
    per kind.
    """

    def __init__(self, connector: Connector):
        self._db = connector

    async def put_definition(
        self, kind: str, definition_id: str, document: JSONObject
    ) -> DefinitionRecord:
        """Create the definition, or replace its document; ``created_at`` is kept."""
        check_id(kind, "kind")
        check_id(definition_id, "id")
        now = self._db.now()
        insert = self._db.insert(Definition).values(
            kind=kind, id=definition_id, document=document, created_at=now, updated_at=now
        )
        upsert = insert.on_conflict_do_update(
            index_elements=["kind", "id"],
            set_={"document": insert.excluded.document, "updated_at": now},
        ).returning(*_COLUMNS)
        return _record(await self._db.run(lambda c: c.execute(upsert).mappings().one()))

    async def get_definition(self, kind: str, definition_id: str) -> DefinitionRecord | None:
        query = select(*_COLUMNS).where(Definition.c.kind == kind, Definition.c.id == definition_id)
        row = await self._db.read(lambda c: c.execute(query).mappings().one_or_none())
        return None if row is None else _record(row)

    async def list_definitions(self, kind: str) -> list[DefinitionRecord]:
        """Every definition of ``kind``, by id."""
        query = select(*_COLUMNS).where(Definition.c.kind == kind).order_by(Definition.c.id)
        rows = await self._db.read(lambda c: c.execute(query).mappings().all())
        return [_record(row) for row in rows]

    async def delete_definition(self, kind: str, definition_id: str) -> bool:
        """``False`` when there was no such definition."""
        query = delete(Definition).where(
            Definition.c.kind == kind, Definition.c.id == definition_id
        )
        deleted: int = await self._db.run(lambda c: c.execute(query).rowcount)
        return deleted > 0


def _record(row: RowMapping) -> DefinitionRecord:
    return DefinitionRecord(
        kind=row["kind"],
        id=row["id"],
        document=row["document"],
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
    )
