"""Loading flows, integrations and models from a folder of YAML/JSON files.

Every problem is a ``ConfigError`` naming the file, the node (by id) and the field:
``flows/support.yaml: nodes.answer.model: unknown model 'gpt'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sluice.errors import ConfigError
from sluice.flows.model import AgentNode, Flow, IntegrationNode, PromptNode, ToolRef
from sluice.integrations.loader import (
    config_files,
    field_name,
    parse_document,
    parse_integration,
    read_documents,
)
from sluice.integrations.model import Integration
from sluice.providers.model import ModelConfig
from sluice.streams.types import JSONValue


@dataclass(slots=True)
class Definitions:
    """Everything a folder defines, by id."""

    flows: dict[str, Flow] = field(default_factory=dict)
    integrations: dict[str, Integration] = field(default_factory=dict)
    models: dict[str, ModelConfig] = field(default_factory=dict)

    def check(self) -> None:
        """Cross-references: every node names an integration and model that exist."""
        for flow in self.flows.values():
            check_references(flow, self, source=f"flow {flow.id}")


def parse_flow(data: Mapping[str, JSONValue], *, source: str | None = None) -> Flow:
    """Validate one flow; a node is named by its id in errors (``nodes.answer.text``)."""
    nodes = data.get("nodes")

    def name(loc: tuple[int | str, ...]) -> str:
        if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            node = nodes[loc[1]] if isinstance(nodes, list) and loc[1] < len(nodes) else None
            node_id = node.get("id") if isinstance(node, dict) else None
            rest = (
                loc[3:]
                if len(loc) > 2 and isinstance(node, dict) and loc[2] == node.get("type")
                else loc[2:]
            )
            head = f"nodes.{node_id}" if isinstance(node_id, str) else f"nodes[{loc[1]}]"
            tail = field_name(rest)
            return f"{head}.{tail}" if tail else head
        return field_name(loc)

    return parse_document(Flow, data, source=source, name_field=name)


def parse_model(data: Mapping[str, JSONValue], *, source: str | None = None) -> ModelConfig:
    return parse_document(ModelConfig, data, source=source)


_PARSERS: dict[str, Any] = {
    "flow": parse_flow,
    "integration": parse_integration,
    "model": parse_model,
}


def load_definitions(paths: Iterable[Path]) -> Definitions:
    """Every flow, integration and model in ``paths``; duplicate ids and unknown kinds refused."""
    found = Definitions()
    tables: dict[str, dict[str, Any]] = {
        "flow": found.flows,
        "integration": found.integrations,
        "model": found.models,
    }
    sources: dict[tuple[str, str], str] = {}
    for file in config_files(paths):
        for document in read_documents(file):
            kind = document.kind
            if kind not in _PARSERS:
                raise ConfigError(
                    f"unknown kind {kind!r}; expected flow, integration or model",
                    source=document.source,
                    field="kind",
                )
            item = _PARSERS[kind](document.data, source=document.source)
            key = (kind, item.id)
            if key in sources:
                raise ConfigError(
                    f"duplicate {kind} id {item.id!r}, first defined in {sources[key]}",
                    source=document.source,
                    field="id",
                )
            sources[key] = document.source
            tables[kind][item.id] = item
    for flow in found.flows.values():
        check_references(flow, found, source=sources[("flow", flow.id)])
    return found


def check_references(flow: Flow, found: Definitions, *, source: str | None) -> None:
    """Raise ``ConfigError`` when a node names an integration or model that is not defined."""
    for node in flow.nodes:
        where = f"nodes.{node.id}"
        if isinstance(node, IntegrationNode) and node.integration not in found.integrations:
            raise ConfigError(
                f"unknown integration {node.integration!r}", source=source, field=where
            )
        if isinstance(node, PromptNode | AgentNode) and node.model is not None:
            if node.model not in found.models:
                raise ConfigError(f"unknown model {node.model!r}", source=source, field=where)
        if isinstance(node, AgentNode):
            for tool in node.tools:
                ref = tool if isinstance(tool, ToolRef) else None
                if (
                    ref is not None
                    and ref.integration
                    and ref.integration not in found.integrations
                ):
                    raise ConfigError(
                        f"unknown integration {ref.integration!r}",
                        source=source,
                        field=f"{where}.tools",
                    )
