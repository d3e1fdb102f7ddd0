"""Where the server finds flows, integrations and models: files, the database, built-ins.

Files (``--flows DIR``) are read once at start; definitions created through the API live
in the database and are parsed again only when their stored document changes. The
built-in ``default`` flow is there unless a file or the API defines another ``default``.

Integrations and models each live in one table (``files.integrations``, ``files.models``)
that the flow services read too: stored ones are merged in at start, when the API saves
or deletes one, and before a stored flow is used (a record saved by another replica is
seen on its next turn). A file's definition wins over a stored one with the same id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sluice.api.errors import APIError
from sluice.errors import ConfigError
from sluice.flows.default import DEFAULT_FLOW_ID, default_flow
from sluice.flows.definitions import Definitions, check_references, parse_flow, parse_model
from sluice.flows.model import Flow
from sluice.integrations.loader import parse_integration
from sluice.integrations.model import Integration
from sluice.providers.model import ModelConfig
from sluice.store import Database, DefinitionRecord

logger = logging.getLogger(__name__)


StoredKind = Literal["integration", "model"]
_PARSERS: dict[StoredKind, Callable[..., Integration | ModelConfig]] = {
    "integration": parse_integration,
    "model": parse_model,
}


@dataclass(slots=True)
class Catalog:
    """Flows by id, from files, then the database, then the built-in default."""

    files: Definitions
    db: Database
    has_model: bool
    _parsed: dict[str, tuple[datetime, Flow]] = field(default_factory=dict)
    _from_files: dict[StoredKind, frozenset[str]] = field(default_factory=dict)
    _stored: dict[tuple[StoredKind, str], datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._from_files = {kind: frozenset(self._table(kind)) for kind in _PARSERS}

    def _table(self, kind: StoredKind) -> dict[str, Any]:
        """The table flows read (shared with the flow services): files and stored ones."""
        return self.files.integrations if kind == "integration" else self.files.models

    def is_from_file(self, kind: StoredKind, item_id: str) -> bool:
        """Whether a file defines this integration or model (the API cannot replace it)."""
        return item_id in self._from_files[kind]

    def source_of(self, kind: StoredKind, item_id: str) -> str:
        """``file`` or ``stored``: where an integration's or model's definition comes from."""
        return "file" if self.is_from_file(kind, item_id) else "stored"

    def parse_definition(
        self, kind: StoredKind, document: dict[str, Any], *, source: str = "request body"
    ) -> Any:
        """Validate an integration or model document (``ConfigError`` names the field)."""
        return _PARSERS[kind]({**document, "kind": kind}, source=source)

    def parse_integration(
        self, document: dict[str, Any], *, source: str = "request body"
    ) -> Integration:
        integration: Integration = self.parse_definition("integration", document, source=source)
        return integration

    def put_definition(self, kind: StoredKind, record: DefinitionRecord, item: Any) -> None:
        """Make a stored integration or model visible to flows (unless a file defines it)."""
        if not self.is_from_file(kind, item.id):
            self._table(kind)[item.id] = item
            self._stored[(kind, item.id)] = record.updated_at

    def forget_definition(self, kind: StoredKind, item_id: str) -> None:
        """A stored integration or model was deleted: flows no longer see it."""
        if self._stored.pop((kind, item_id), None) is not None:
            self._table(kind).pop(item_id, None)

    async def save_definition(self, kind: StoredKind, item: Any, document: dict[str, Any]) -> None:
        """Store an integration or model made through the API; flows see it at once.

        Raises ``APIError`` 409 when a file defines that id (files win).
        """
        if self.is_from_file(kind, item.id):
            raise APIError(
                409, "defined_in_file", f"{kind} {item.id!r} is defined in a file", field="id"
            )
        document = {key: value for key, value in document.items() if key != "kind"}
        record = await self.db.definitions.put_definition(kind, item.id, document)
        self.put_definition(kind, record, item)

    async def delete_stored(self, kind: StoredKind, item_id: str) -> bool:
        """Delete a stored integration or model; False when none was stored with that id."""
        if not await self.db.definitions.delete_definition(kind, item_id):
            return False
        self.forget_definition(kind, item_id)
        return True

    async def sync_definitions(self) -> None:
        """Merge stored integrations and models into the tables, parsing only what changed.

        A stored document that no longer validates is skipped: the flow that names it
        then fails with "unknown integration" rather than the whole catalog.
        """
        for kind in _PARSERS:
            records = await self.db.definitions.list_definitions(kind)
            stored_ids = {item_id for k, item_id in self._stored if k == kind}
            for gone in stored_ids - {r.id for r in records}:
                self.forget_definition(kind, gone)
            for record in records:
                if self._stored.get((kind, record.id)) == record.updated_at:
                    continue
                if self.is_from_file(kind, record.id):
                    continue
                try:
                    item = self.parse_definition(
                        kind, record.document, source=f"stored {kind} {record.id}"
                    )
                except ConfigError as exc:
                    logger.warning("skipping %s", exc)
                    self.forget_definition(kind, record.id)
                    self._stored[(kind, record.id)] = record.updated_at
                    continue
                self.put_definition(kind, record, item)

    async def flow(self, flow_id: str) -> Flow | None:
        if flow_id in self.files.flows:
            return self.files.flows[flow_id]
        record = await self.db.definitions.get_definition("flow", flow_id)
        if record is not None:
            await self.sync_definitions()  # a stored flow may name stored definitions
            cached = self._parsed.get(flow_id)
            if cached is not None and cached[0] == record.updated_at:
                return cached[1]
            flow = self.parse(record.document)
            self._parsed[flow_id] = (record.updated_at, flow)
            return flow
        if flow_id == DEFAULT_FLOW_ID:
            return default_flow(has_model=self.has_model)
        return None

    def parse(self, document: dict[str, Any], *, source: str = "request body") -> Flow:
        """Validate a flow document (``ConfigError`` names the node and field)."""
        flow = parse_flow({"kind": "flow", **document}, source=source)
        check_references(flow, self.files, source=source)
        return flow

    async def flow_ids(self) -> list[str]:
        stored = [r.id for r in await self.db.definitions.list_definitions("flow")]
        ids = [*self.files.flows, *(i for i in stored if i not in self.files.flows)]
        return ids if DEFAULT_FLOW_ID in ids else [DEFAULT_FLOW_ID, *ids]
