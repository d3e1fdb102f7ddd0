"""Tool calls accumulated from every recorded stream that has them."""

from __future__ import annotations

import orjson
import pytest

from sluice.providers.toolcalls import ToolCall, ToolCallAccumulator
from sluice.streams.framing import make_framer
from sluice.streams.types import StreamType
from tests.corpus import CASES, Case


def accumulate(case: Case) -> ToolCallAccumulator:
    framer = make_framer(StreamType(case.framing))
    accumulator = ToolCallAccumulator(case.preset)
    for chunk in framer.decode(case.body) + framer.flush():
        accumulator.add(chunk)
    return accumulator


def as_expected(calls: list[ToolCall]) -> list[tuple[str, object]]:
    return [(call.name, orjson.loads(call.arguments_json)) for call in calls]


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.file) for c in CASES if "tool_calls" in c.expected] or [None]
)
def test_tool_calls_match_the_recording(case: Case | None):
    if case is None:
        pytest.skip("no corpus")
    accumulator = accumulate(case)
    expected = [(t["name"], orjson.loads(t["arguments_json"])) for t in case.expected["tool_calls"]]
    assert as_expected(accumulator.client_calls) == expected
    for call, want in zip(accumulator.client_calls, case.expected["tool_calls"], strict=True):
        if case.preset not in ("gemini", "ollama"):
            assert call.arguments_json == want["arguments_json"]
    servers = case.expected.get("server_tool_calls", [])
    assert as_expected([c for c in accumulator.calls if c.is_server]) == [
        (t["name"], orjson.loads(t["arguments_json"])) for t in servers
    ]


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.file) for c in CASES if "tool_calls" not in c.expected] or [None]
)
def test_streams_without_tool_calls_yield_none(case: Case | None):
    if case is None:
        pytest.skip("no corpus")
    assert accumulate(case).calls == []


def test_arguments_parse_and_reject_non_objects():
    assert ToolCall("f", '{"a": 1}').arguments() == {"a": 1}
    assert ToolCall("f", "").arguments() == {}
    with pytest.raises(ValueError, match="JSON object"):
        ToolCall("f", "[1]").arguments()
    with pytest.raises(ValueError, match="not valid JSON"):
        ToolCall("f", '{"a": ').arguments()
