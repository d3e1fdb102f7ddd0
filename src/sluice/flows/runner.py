"""The runner: plays a flow's nodes in order and yields one ordered stream of events.

Start, then each node's Tokens, Status, tool and Sources events as they happen, then
Final (the whole answer, tools, sources, usage) and End. When a node fails, an Error
event follows what was said, and Final keeps that partial text with reason ``error``.
Closing the iterator (or cancelling its task) closes the node's upstream request at
once; the caller that aborted decides what to record.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

from sluice.errors import ConfigError, SluiceError, UpstreamError
from sluice.events import End, Error, Event, Final, Start
from sluice.flows.model import (
    AgentNode,
    ConditionNode,
    Flow,
    IntegrationNode,
    PromptNode,
    RetrieveNode,
    SayNode,
    SetNode,
)
from sluice.flows.nodes.basic import Jump, run_condition, run_say, run_set
from sluice.flows.nodes.integration import run_integration
from sluice.flows.nodes.llm import run_agent, run_prompt
from sluice.flows.nodes.retrieve import run_retrieve
from sluice.flows.state import FlowServices, RunInput, RunState

logger = logging.getLogger(__name__)

MAX_NODE_RUNS = 1000
"""A flow whose conditions loop is stopped after this many node runs."""

_RUNNERS: dict[type, Callable[[Any, RunState], AsyncGenerator[Event | Jump, None]]] = {
    SayNode: run_say,
    SetNode: run_set,
    ConditionNode: run_condition,
    IntegrationNode: run_integration,
    PromptNode: run_prompt,
    AgentNode: run_agent,
    RetrieveNode: run_retrieve,
}


async def run_flow(
    flow: Flow,
    run_input: RunInput,
    services: FlowServices,
    *,
    run_id: str | None = None,
    framed: bool = True,
) -> AsyncGenerator[Event, None]:
    """Run ``flow`` for one user turn; see the module docstring for the order of events.

    ``framed=False`` leaves out ``Start`` and ``End`` (the run registry writes its own: a
    round trip through every layer less before the upstream request leaves).

    The nodes are played here, not in a generator of their own: each stream holds one
    generator less for as long as it lasts.
    """
    state = RunState(flow, run_input, services, vars={**flow.vars, **run_input.vars})
    if framed:
        yield Start(run_id)
    try:
        positions = {node.id: index for index, node in enumerate(flow.nodes)}
        index = 0
        for _ in range(MAX_NODE_RUNS):
            if index >= len(flow.nodes):
                break
            node = flow.nodes[index]
            state.begin_node()
            target: str | None = None
            jumped = False
            events = _RUNNERS[type(node)](node, state)
            try:
                async for event in events:
                    if isinstance(event, Jump):
                        target, jumped = event.target, True
                    else:
                        yield event
            finally:
                await events.aclose()
            index = positions[target] if jumped and target is not None else index + 1
        else:
            raise ConfigError(
                f"the flow ran more than {MAX_NODE_RUNS} nodes: do its conditions loop?"
            )
    except (UpstreamError, ConfigError) as exc:
        code = exc.code if isinstance(exc, UpstreamError) else "config_error"
        message = exc.message if isinstance(exc, UpstreamError) else str(exc)
        logger.info("flow %s failed: %s", flow.id, code)
        yield Error(code, message)
        yield _final(state, "error")
        if framed:
            yield End()
        return
    except SluiceError as exc:
        yield Error("error", str(exc))
        yield _final(state, "error")
        if framed:
            yield End()
        return
    yield _final(state, "complete")
    if framed:
        yield End()


def _final(state: RunState, reason: str) -> Final:
    return Final(
        state.text,
        tuple(state.tools),
        tuple(state.sources),
        state.usage,
        "error" if reason == "error" else "complete",
    )
