"""Building flows from plain dicts and collecting their events, for tests."""

from __future__ import annotations

from typing import Any

from sluice.events import Event, Final, Token
from sluice.flows.definitions import parse_flow
from sluice.flows.model import Flow
from sluice.flows.runner import run_flow
from sluice.flows.state import FlowServices, RunInput
from sluice.integrations.model import Integration
from sluice.integrations.session import UpstreamSession


def flow(*nodes: dict[str, Any], **fields: Any) -> Flow:
    return parse_flow({"kind": "flow", "id": "test", "nodes": list(nodes), **fields})


async def collect(
    flow_: Flow,
    session: UpstreamSession,
    question: str = "hi",
    *,
    integrations: dict[str, Integration] | None = None,
    **services: Any,
) -> list[Event]:
    services_ = FlowServices(session, integrations=integrations or {}, **services)
    return [event async for event in run_flow(flow_, RunInput(question), services_)]


def said(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, Token))


def final(events: list[Event]) -> Final:
    (found,) = [e for e in events if isinstance(e, Final)]
    return found
