"""The nodes that call nothing outside: say, set and condition."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from functools import lru_cache

from sluice.events import Event
from sluice.flows.model import ConditionNode, SayNode, SetNode
from sluice.flows.state import RunState
from sluice.integrations.templating import TemplateNode, compile_template


@dataclass(frozen=True, slots=True)
class Jump:
    """Not an event: tells the runner which node runs next."""

    target: str | None


@lru_cache(maxsize=1024)
def compiled(template: str, field: str) -> TemplateNode:
    """Node templates are compiled once per distinct text (nodes are frozen models)."""
    return compile_template(template, field=field)


_WORD = re.compile(r"\s*\S+\s*|\s+")


async def run_say(node: SayNode, state: RunState) -> AsyncGenerator[Event, None]:
    """Say the text: word by word when the node streams, else in one piece."""
    text = state.render(compiled(node.text, f"nodes.{node.id}.text"))
    text = "" if text is None else str(text)
    state.nodes[node.id] = {"text": text}
    if not text:
        return
    for piece in _WORD.findall(text) if node.stream else [text]:
        yield state.say(piece)


async def run_set(node: SetNode, state: RunState) -> AsyncGenerator[Event, None]:
    for name, value in node.values.items():
        template = compile_template(value, field=f"nodes.{node.id}.values.{name}")
        state.vars[name] = state.render(template)
    state.nodes[node.id] = {"vars": dict(state.vars)}
    nothing: tuple[Event, ...] = ()
    for event in nothing:  # an async generator, like every node, that yields nothing
        yield event


async def run_condition(node: ConditionNode, state: RunState) -> AsyncGenerator[Event | Jump, None]:
    value = state.render(compiled(node.if_, f"nodes.{node.id}.if"))
    is_true = _truthy(value)
    state.nodes[node.id] = {"value": is_true}
    yield Jump(node.then if is_true else node.else_)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no", "none", "null")
    return bool(value)
