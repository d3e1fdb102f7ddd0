"""Tests for build_mapping and the built-in mappings: openai, none, whole, custom."""

from __future__ import annotations

import orjson
import pytest

from sluice.errors import ConfigError, ExpressionError
from sluice.streams.mapping import Mapping, build_mapping, error_message
from sluice.streams.presets import PRESETS
from sluice.streams.types import Chunk, JSONValue, StreamState


def _chunk(data: JSONValue, event: str | None = "message") -> Chunk:
    raw = data if isinstance(data, str) else orjson.dumps(data).decode()
    return Chunk(data, raw, event)


def _delta(content: JSONValue = None, **fields: JSONValue) -> dict[str, JSONValue]:
    delta = {"content": content, **fields}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def _say(mapping: Mapping, *chunks: Chunk, state: StreamState | None = None) -> str:
    state = state if state is not None else StreamState()
    return "".join(mapping.map(chunk, state) or "" for chunk in chunks)


def test_unknown_mapping_names_the_choices():
    with pytest.raises(ConfigError, match=r"unknown mapping 'openia'.*openai") as caught:
        build_mapping("openia")
    assert caught.value.field == "mapping"


def test_custom_without_expression_is_a_config_error():
    with pytest.raises(ConfigError, match="needs an expression") as caught:
        build_mapping("custom")
    assert caught.value.field == "expression"


def test_custom_with_invalid_expression_reports_the_position():
    with pytest.raises(ExpressionError) as caught:
        build_mapping("custom", "choices[0.delta")
    assert caught.value.position == 9


def test_expression_for_another_mapping_is_refused():
    with pytest.raises(ConfigError, match="only read by the 'custom' mapping"):
        build_mapping("openai", "choices[0].delta.content")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds(name):
    assert build_mapping(name).needs_end_marker is True


def test_openai_says_delta_content():
    mapping = build_mapping("openai")
    assert _say(mapping, _chunk(_delta("Hel")), _chunk(_delta("lo"))) == "Hello"


def test_openai_empty_choices_say_nothing():
    state = StreamState()
    usage = {"prompt_tokens": 1, "completion_tokens": 2}
    filtered = {"choices": [], "prompt_filter_results": [{"prompt_index": 0}]}
    mapping = build_mapping("openai")
    assert (
        _say(mapping, _chunk(filtered), _chunk({"choices": [], "usage": usage}), state=state) == ""
    )
    assert state.usage == usage


def test_openai_done_sentinel_ends_the_stream():
    state = StreamState()
    assert build_mapping("openai").map(_chunk("[DONE]"), state) is None
    assert state.is_done


def test_openai_keeps_reasoning_apart_from_the_answer():
    state = StreamState()
    chunks = (_chunk(_delta(None, reasoning_content="think")), _chunk(_delta("answer")))
    assert _say(build_mapping("openai"), *chunks, state=state) == "answer"
    assert state.reasoning == ["think"]


def test_openai_reads_mistral_typed_content_parts():
    state = StreamState()
    thinking = [{"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]}]
    parts = [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": "x"}]
    chunks = (_chunk(_delta(thinking)), _chunk(_delta(parts)))
    assert _say(build_mapping("openai"), *chunks, state=state) == "a"
    assert state.reasoning == ["hmm"]


def test_error_member_is_detected_and_its_message_kept():
    state = StreamState()
    error = {"code": 400, "message": "Token limit reached"}
    build_mapping("openai").map(_chunk({"error": error, "choices": []}), state)
    assert state.error == error
    assert state.error_message == "Token limit reached"


def test_error_event_without_error_member_is_the_error():
    state = StreamState()
    build_mapping("openai").map(_chunk({"message": "overloaded"}, event="error"), state)
    assert state.error_message == "overloaded"


def test_first_error_is_kept():
    state = StreamState()
    mapping = build_mapping("openai")
    mapping.map(_chunk({"error": {"message": "first"}}), state)
    mapping.map(_chunk({"error": {"message": "second"}}), state)
    assert state.error_message == "first"


def test_error_message_of_an_object_without_message_is_its_json():
    assert error_message({"code": 1}) == '{"code":1}'
    assert error_message({"error": {"detail": "deep"}}) == "deep"
    assert error_message("plain") == "plain"
    assert len(error_message("x" * 2000)) == 500


def test_false_or_null_error_member_is_not_an_error():
    state = StreamState()
    build_mapping("custom", "text").map(_chunk({"text": "ok", "error": False}), state)
    build_mapping("custom", "text").map(_chunk({"text": "ok", "error": None}), state)
    assert state.error is None


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"v": None}, None),
        ({}, None),
        ({"v": "text"}, "text"),
        ({"v": 42}, "42"),
        ({"v": 1.5}, "1.5"),
        ({"v": True}, "true"),
        ({"v": ["a", None, "b"]}, "ab"),
        ({"v": {"k": [1, None]}}, '{"k":[1,null]}'),
    ],
)
def test_custom_value_to_text(data, said):
    assert build_mapping("custom", "v").map(_chunk(data), StreamState()) == said


def test_custom_projection_joins_the_parts():
    data = {"parts": [{"text": "a"}, {"image": 1}, {"text": "b"}]}
    assert build_mapping("custom", "parts[*].text").map(_chunk(data), StreamState()) == "ab"


def test_custom_fast_path_and_fallback_say_the_same():
    chunks = [_chunk(_delta("x")), _chunk({"choices": []}), _chunk(_delta(None))]
    fast = build_mapping("custom", "choices[0].delta.content")
    slow = build_mapping("custom", "choices[0].delta.content || `null`")
    said = [(fast.map(c, StreamState()), slow.map(c, StreamState())) for c in chunks]
    assert [a for a, _ in said] == [b for _, b in said] == ["x", None, None]


def test_custom_ends_at_done_but_needs_no_end_marker():
    state = StreamState()
    mapping = build_mapping("custom", "text")
    assert mapping.map(_chunk("[DONE]"), state) is None
    assert state.is_done
    assert mapping.needs_end_marker is False


def test_none_says_nothing_but_sees_errors():
    state = StreamState()
    mapping = build_mapping("none")
    assert _say(mapping, _chunk(_delta("hidden")), state=state) == ""
    mapping.map(_chunk({"error": {"message": "boom"}}), state)
    assert state.error_message == "boom"
    assert mapping.needs_end_marker is False


def test_whole_says_raw_text_with_separator_between_chunks():
    chunks = [Chunk("one", "one", None), Chunk({"a": 1}, '{"a": 1}', None), Chunk("", "", None)]
    assert _say(build_mapping("whole", separator="\n"), *chunks) == 'one\n{"a": 1}\n'


def test_whole_does_not_say_done_or_errors():
    state = StreamState()
    chunks = [_chunk("hi"), _chunk({"error": {"message": "x"}}), _chunk("[DONE]")]
    assert _say(build_mapping("whole"), *chunks, state=state) == "hi"
    assert state.error_message == "x"


def test_mappings_are_independent_per_stream():
    first, second = build_mapping("whole", separator="|"), build_mapping("whole", separator="|")
    assert _say(first, _chunk("a"), _chunk("b")) == "a|b"
    assert _say(second, _chunk("c")) == "c"


def test_anthropic_overlays_message_delta_usage_on_message_start():
    state = StreamState()
    mapping = build_mapping("anthropic")
    start = {"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1}}}
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 9},
    }
    mapping.map(_chunk(start, "message_start"), state)
    mapping.map(_chunk(delta, "message_delta"), state)
    mapping.map(_chunk({"type": "message_stop"}, "message_stop"), state)
    assert state.usage == {"input_tokens": 5, "output_tokens": 9}
    assert state.finish_reason == "end_turn"
    assert state.is_done


def test_anthropic_error_event():
    state = StreamState()
    data = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    build_mapping("anthropic").map(_chunk(data, "error"), state)
    assert state.error == data["error"]
    assert state.error_message == "Overloaded"


def test_gemini_thought_parts_are_reasoning():
    state = StreamState()
    parts = [{"text": "plan", "thought": True}, {"text": "Answer"}]
    data = {"candidates": [{"content": {"parts": parts}}]}
    assert build_mapping("gemini").map(_chunk(data), state) == "Answer"
    assert state.reasoning == ["plan"]
    assert not state.is_done


def test_tgi_skips_special_tokens():
    data = {"token": {"text": "</s>", "special": True}, "details": None}
    assert build_mapping("tgi").map(_chunk(data), StreamState()) is None
