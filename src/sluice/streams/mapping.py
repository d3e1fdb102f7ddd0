"""Mapping: the piece of bot response a chunk carries, and what else it tells about the stream.

``build_mapping`` gives one ``Mapping`` per stream. ``none`` says nothing, ``whole`` says
each chunk's text, and every other mapping (``custom`` and the provider presets in
``presets``) is a set of rules compiled by ``rules.Plan`` and run by ``RuleMapping``: the
answer text is returned, and finish reason, usage, reasoning, the end marker and errors
are written on the ``StreamState``. Rules are compiled once per preset or expression.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from sluice.errors import ConfigError
from sluice.streams.presets import PRESETS, STREAM_CONVENTIONS, Rule, Target
from sluice.streams.rules import MappedFunction, Plan, ReadFunction, error_message
from sluice.streams.types import Chunk, JSONValue, StreamState

__all__ = ["BUILTIN_MAPPINGS", "Mapping", "build_mapping", "error_message"]

BUILTIN_MAPPINGS = ("none", "whole", "custom")


class Mapping(Protocol):
    """Turns one chunk into the answer text it carries, noting the rest on ``state``."""

    needs_end_marker: bool
    """True when a stream that ends without ``state.is_done`` was cut."""

    def map_fields(
        self, data: JSONValue, raw: str, event: str | None, state: StreamState
    ) -> str | None:
        """The answer text of the chunk with these fields (None or "" when it says nothing).

        The pipeline's hot path calls this without building a ``Chunk``.
        """
        ...

    def map(self, chunk: Chunk, state: StreamState) -> str | None:
        """``map_fields`` for a ``Chunk``."""
        ...


class _ChunkMapping:
    """``map(chunk, state)`` for mappings that implement ``map_fields``."""

    __slots__ = ()

    def map_fields(
        self, data: JSONValue, raw: str, event: str | None, state: StreamState
    ) -> str | None:
        raise NotImplementedError

    def map(self, chunk: Chunk, state: StreamState) -> str | None:
        return self.map_fields(chunk.data, chunk.raw, chunk.event, state)


def build_mapping(name: str, expression: str | None = None, *, separator: str = "") -> Mapping:
    """The mapping called ``name`` for one stream; compilation is cached, so this is cheap.

    ``expression`` is required by ``custom`` and refused by every other mapping.
    ``separator`` goes between consecutive chunks with ``whole`` ("\\n" for line streams).
    Raises ``ConfigError`` for an unknown name or a missing expression and
    ``ExpressionError`` for one that does not compile.
    """
    if expression is not None and name != "custom":
        raise ConfigError(f"an expression is only read by the 'custom' mapping, not {name!r}")
    if name == "none":
        return NoneMapping()
    if name == "whole":
        return WholeMapping(separator)
    if name == "custom":
        if expression is None or not expression.strip():
            raise ConfigError("the 'custom' mapping needs an expression", field="expression")
        return RuleMapping(_custom_plan(expression), needs_end_marker=False, sentinel="[DONE]")
    preset = PRESETS.get(name)
    if preset is None:
        names = ", ".join([*BUILTIN_MAPPINGS, *PRESETS])
        raise ConfigError(f"unknown mapping {name!r}; expected one of {names}", field="mapping")
    return _preset_mapping(name)


@lru_cache(maxsize=len(PRESETS))
def _preset_mapping(name: str) -> RuleMapping:
    """One per preset: a rule mapping keeps no state of its own (the stream's is passed in).
    Keyed by name: hashing the preset itself walks all its rules."""
    preset = PRESETS[name]
    return RuleMapping(
        Plan(preset.rules), needs_end_marker=preset.needs_end_marker, sentinel=preset.sentinel
    )


@lru_cache(maxsize=256)
def _custom_plan(expression: str) -> Plan:
    return Plan((Rule(expression, to=Target.TEXT), *STREAM_CONVENTIONS))


@lru_cache(maxsize=1)
def _conventions_plan() -> Plan:
    return Plan(STREAM_CONVENTIONS)


class RuleMapping(_ChunkMapping):
    """Runs a plan of rules over each chunk: the generic mapper behind presets and ``custom``."""

    __slots__ = ("_plan", "_sentinel", "needs_end_marker")

    def __init__(self, plan: Plan, *, needs_end_marker: bool, sentinel: str | None) -> None:
        self._plan = plan
        self._sentinel = sentinel
        self.needs_end_marker = needs_end_marker

    def function_for(self, event: str | None) -> MappedFunction:
        """The compiled function for chunks of this SSE event (hot path: skip the dispatch)."""
        return self._plan.for_event(event)

    def messages_reader(self) -> ReadFunction:
        """The compiled loop over a read's ``message`` events (see ``rules.compile_reader``)."""
        return self._plan.read_messages

    def map_fields(
        self, data: JSONValue, raw: str, event: str | None, state: StreamState
    ) -> str | None:
        if data.__class__ is str and _is_sentinel(data, self._sentinel, state):
            return None
        plan = self._plan
        mapped = plan.default if event is None else plan.by_event.get(event, plan.default)
        return mapped(data, state)


class NoneMapping(_ChunkMapping):
    """Says nothing: the chunks are kept by the pipeline, only the end and errors are read."""

    __slots__ = ("_plan", "needs_end_marker")

    def __init__(self) -> None:
        self._plan = _conventions_plan()
        self.needs_end_marker = False

    def map_fields(
        self, data: JSONValue, raw: str, event: str | None, state: StreamState
    ) -> str | None:
        _read_conventions(self._plan, data, event, state)
        return None


class WholeMapping(_ChunkMapping):
    """Says each chunk's text as received, with ``separator`` between consecutive chunks.

    Empty chunks count (an empty line of a ``lines`` stream keeps its line break).
    """

    __slots__ = ("_has_said", "_plan", "needs_end_marker", "separator")

    def __init__(self, separator: str = "") -> None:
        self._plan = _conventions_plan()
        self.separator = separator
        self.needs_end_marker = False
        self._has_said = False

    def map_fields(
        self, data: JSONValue, raw: str, event: str | None, state: StreamState
    ) -> str | None:
        if _read_conventions(self._plan, data, event, state):
            return None
        if self._has_said:
            return self.separator + raw
        self._has_said = True
        return raw


def _read_conventions(plan: Plan, data: JSONValue, event: str | None, state: StreamState) -> bool:
    """Apply ``[DONE]`` and the error conventions; True when the chunk was one of them."""
    if data.__class__ is str:
        return event is not None and _is_sentinel(data, "[DONE]", state)
    had_error = state.error is not None
    plan.for_event(event)(data, state)
    return not had_error and state.error is not None


def _is_sentinel(data: str, sentinel: str | None, state: StreamState) -> bool:
    if sentinel is not None and data.strip() == sentinel:
        state.is_done = True
        return True
    return False
