"""Where the server finds flows, integrations and models: files, the database, built-ins.

Files (``--flows DIR``) are read once at start; definitions created through the API live
in the database and are parsed again only when their stored document changes. The
built-in ``default`` flow is there unless a file or the API defines another ``default``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sluice.flows.default import DEFAULT_FLOW_ID, default_flow
from sluice.flows.definitions import Definitions, check_references, parse_flow
from sluice.flows.model import Flow
from sluice.store import Database


@dataclass(slots=True)
class Catalog:
    """Flows by id, from files, then the database, then the built-in default."""

    files: Definitions
    db: Database
    has_model: bool
    _parsed: dict[str, tuple[datetime, Flow]] = field(default_factory=dict)

    async def flow(self, flow_id: str) -> Flow | None:
        if flow_id in self.files.flows:
            return self.files.flows[flow_id]
        record = await self.db.definitions.get_definition("flow", flow_id)
        if record is not None:
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
