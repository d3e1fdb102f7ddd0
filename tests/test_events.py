"""Events: their JSON form, its stable type names, and the round trip through JSON."""

from __future__ import annotations

import dataclasses
import typing

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.events import (
    End,
    Error,
    Event,
    Final,
    Saved,
    SourceDocument,
    Sources,
    Start,
    Status,
    Token,
    ToolEnd,
    ToolStart,
    ToolUse,
    Transcription,
    event_from_dict,
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=4)
optional_text = st.none() | st.text()
documents = st.builds(SourceDocument, st.text(), json_objects)
tool_uses = st.builds(ToolUse, st.text(), json_objects, st.text(), optional_text, optional_text)
finite = st.floats(allow_nan=False, allow_infinity=False)

any_event: st.SearchStrategy[Event] = st.one_of(
    st.builds(Start, optional_text),
    st.builds(Token, st.text()),
    st.builds(Status, st.text()),
    st.builds(ToolStart, st.text(), json_objects, optional_text),
    st.builds(ToolEnd, st.text(), st.text(), optional_text, st.none() | finite, optional_text),
    st.builds(Sources, st.lists(documents, max_size=3).map(tuple)),
    st.builds(Transcription, st.text()),
    st.builds(
        Final,
        st.text(),
        st.lists(tool_uses, max_size=2).map(tuple),
        st.lists(documents, max_size=2).map(tuple),
        st.none() | json_objects,
        st.sampled_from(["complete", "error", "aborted"]),
    ),
    st.builds(Saved, st.text()),
    st.builds(Error, st.text(), st.text()),
    st.just(End()),
)


@given(any_event)
def test_json_round_trip_gives_the_same_event(event):
    assert event_from_dict(orjson.loads(orjson.dumps(event.to_dict()))) == event


def test_type_names_are_snake_case_and_stable():
    names = {cls.__name__: cls.type for cls in typing.get_args(Event)}
    assert names == {
        "Start": "start",
        "Token": "token",
        "Status": "status",
        "ToolStart": "tool_start",
        "ToolEnd": "tool_end",
        "Sources": "sources",
        "Transcription": "transcription",
        "Final": "final",
        "Saved": "saved",
        "Error": "error",
        "End": "end",
    }


@given(any_event)
def test_to_dict_type_is_the_class_type(event):
    assert event.to_dict()["type"] == event.type


def test_token_json_is_type_and_text_only():
    assert Token(" Hello").to_dict() == {"type": "token", "text": " Hello"}


def test_sources_use_flowise_source_document_shape():
    doc = SourceDocument("Refunds take 5 days.", {"source": "refunds.md", "title": "Refunds"})
    assert Sources((doc,)).to_dict() == {
        "type": "sources",
        "documents": [
            {
                "pageContent": "Refunds take 5 days.",
                "metadata": {"source": "refunds.md", "title": "Refunds"},
            }
        ],
    }


def test_final_json_carries_tools_sources_usage_and_reason():
    final = Final(
        "4",
        tools=(ToolUse("calculator", {"expression": "2+2"}, "4", call_id="c1"),),
        usage={"prompt_tokens": 3},
        reason="aborted",
    )
    assert final.to_dict() == {
        "type": "final",
        "text": "4",
        "tools": [
            {
                "name": "calculator",
                "input": {"expression": "2+2"},
                "output": "4",
                "call_id": "c1",
                "error": None,
            }
        ],
        "sources": [],
        "usage": {"prompt_tokens": 3},
        "reason": "aborted",
    }


def test_events_are_frozen():
    token = Token("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        token.text = "b"  # type: ignore[misc]  # assigning to a frozen field is the point


def test_end_and_error_json():
    assert End().to_dict() == {"type": "end"}
    assert Error("timeout", "upstream timed out").to_dict() == {
        "type": "error",
        "code": "timeout",
        "message": "upstream timed out",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "nope"}, "type: expected an event type, got 'nope'"),
        ({}, "type: expected an event type, got None"),
        ({"type": "token"}, "text: expected a string, got NoneType"),
        ({"type": "token", "text": 3}, "text: expected a string, got int"),
        ({"type": "tool_start", "name": "x", "input": []}, "input: expected an object"),
        ({"type": "tool_end", "name": "x", "output": "", "duration_ms": "1"}, "duration_ms"),
        ({"type": "sources", "documents": {}}, "documents: expected a list"),
        ({"type": "sources", "documents": ["x"]}, "documents: expected an object"),
        ({"type": "final", "text": "", "reason": "cut"}, "reason: expected complete"),
        ({"type": "final", "text": "", "tools": [1]}, "tools: expected an object"),
    ],
)
def test_malformed_dict_raises_value_error_naming_the_field(data, message):
    with pytest.raises(ValueError, match=message):
        event_from_dict(data)


def test_missing_optional_fields_take_their_defaults():
    assert event_from_dict({"type": "final", "text": "hi"}) == Final("hi")
    assert event_from_dict({"type": "start"}) == Start()
