"""Where the server finds flows, integrations and models: files, the database, built-ins.

Files (``--flows DIR``) are read once at start; definitions created through the API live
in the database and are parsed again only when their stored document changes. The
built-in ``default`` flow is there unless a file or the API defines another ``default``.

Integrations live in one table, ``files.integrations``, which the flow services read too:
stored integrations are merged into it at start, when the API saves or deletes one, and
before a stored flow is used (a record saved by another replica is seen on its next
turn). A file's integration wins over a stored one with the same id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sluice.errors import ConfigError
from sluice.flows.default import DEFAULT_FLOW_ID, default_flow
from sluice.flows.definitions import Definitions, check_references, parse_flow
from sluice.flows.model import Flow
from sluice.integrations.loader import parse_integration
from sluice.integrations.model import Integration
from sluice.store import Database, DefinitionRecord

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Catalog:
    """Flows by id, from files, then the database, then the built-in default."""

    files: Definitions
    db: Database
    has_model: bool
    _parsed: dict[str, tuple[datetime, Flow]] = field(default_factory=dict)
    _file_integrations: frozenset[str] = frozenset()
    _stored_integrations: dict[str, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._file_integrations = frozenset(self.files.integrations)

    def is_file_integration(self, integration_id: str) -> bool:
        """Whether a file defines this integration (the API cannot replace it)."""
        return integration_id in self._file_integrations

    def parse_integration(
        self, document: dict[str, Any], *, source: str = "request body"
    ) -> Integration:
        """Validate an integration document (``ConfigError`` names the field)."""
        return parse_integration({**document, "kind": "integration"}, source=source)

    def put_integration(self, record: DefinitionRecord, integration: Integration) -> None:
        """Make a stored integration visible to flows (unless a file defines its id)."""
        if not self.is_file_integration(integration.id):
            self.files.integrations[integration.id] = integration
            self._stored_integrations[integration.id] = record.updated_at

    def forget_integration(self, integration_id: str) -> None:
        """A stored integration was deleted: flows no longer see it."""
        if self._stored_integrations.pop(integration_id, None) is not None:
            self.files.integrations.pop(integration_id, None)

    async def sync_integrations(self) -> None:
        """Merge the stored integrations into the table, parsing only those that changed.

        A stored document that no longer validates is skipped: the flow that names it
        then fails with "unknown integration" rather than the whole catalog.
        """
        records = await self.db.definitions.list_definitions("integration")
        for gone in self._stored_integrations.keys() - {r.id for r in records}:
            self.forget_integration(gone)
        for record in records:
            if self._stored_integrations.get(record.id) == record.updated_at:
                continue
            if self.is_file_integration(record.id):
                continue
            try:
                integration = self.parse_integration(
                    record.document, source=f"stored integration {record.id}"
                )
            except ConfigError as exc:
                logger.warning("skipping %s", exc)
                self.forget_integration(record.id)
                self._stored_integrations[record.id] = record.updated_at
                continue
            self.put_integration(record, integration)

    async def flow(self, flow_id: str) -> Flow | None:
        if flow_id in self.files.flows:
            return self.files.flows[flow_id]
        record = await self.db.definitions.get_definition("flow", flow_id)
        if record is not None:
            await self.sync_integrations()  # a stored flow may name a stored integration
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
