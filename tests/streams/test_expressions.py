"""Tests for compiled JMESPath expressions: errors, the fast path against jmespath, to_text."""

from __future__ import annotations

import json

import jmespath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.errors import ExpressionError, StreamFormatError
from sluice.streams.expressions import compile_expression, is_truthy, to_text, walk

KEYS = st.sampled_from(["a", "b", "choices", "delta", "0", "", "with space", "ü"])
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
STEPS = st.lists(KEYS | st.integers(-4, 4), max_size=5)


def _render(steps: list[str | int]) -> str:
    """A JMESPath expression for a chain of steps (quoted fields, bracketed indexes)."""
    text = "@"
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else f".{json.dumps(step)}"
    return text


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("choices[0", 9),
        ("a..b", 2),
        ('foo["x"]', 4),
        ('"unterminated', 0),
        ("a b", 2),
        ("", 0),
    ],
)
def test_invalid_expression_reports_its_position(text, position):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert caught.value.position == position
    assert caught.value.expression == text
    assert f"position {position}" in str(caught.value) or text == ""


def test_unknown_function_is_rejected_at_compile_time():
    with pytest.raises(ExpressionError, match=r"unknown JMESPath function nope\(\)") as caught:
        compile_expression("a.b | nope(@)")
    assert caught.value.position == 6


def test_wrong_argument_count_is_rejected_at_compile_time():
    with pytest.raises(ExpressionError, match=r"join\(\) takes 2 arguments, got 1"):
        compile_expression("join(parts)")


def test_plain_chain_takes_the_fast_path():
    expression = compile_expression("choices[0].delta.content")
    assert expression.steps == ("choices", 0, "delta", "content")


def test_projection_falls_back_to_jmespath():
    expression = compile_expression("parts[*].text")
    assert expression.steps is None
    assert expression.search({"parts": [{"text": "a"}, {}, {"text": "b"}]}) == ["a", "b"]


@pytest.mark.parametrize(
    ("value", "steps", "expected"),
    [
        ({"a": "x"}, ("a", "b"), None),  # field of a string
        ({"a": [1, 2]}, ("a", "b"), None),  # field of an array
        ({"a": {"0": 1}}, ("a", 0), None),  # index of an object
        ({"a": "xyz"}, ("a", 0), None),  # index of a string
        ({"a": [1, 2]}, ("a", 2), None),  # out of range
        ({"a": [1, 2]}, ("a", -1), 2),  # negative index
        ({"a": [1, 2]}, ("a", -3), None),
        ([{"b": True}], (0, "b"), True),
        ("anything", (), "anything"),
    ],
)
def test_walk_follows_jmespath_semantics(value, steps, expected):
    assert walk(value, steps) == expected


@given(JSON, STEPS)
def test_fast_path_agrees_with_jmespath(value, steps):
    text = _render(steps)
    expression = compile_expression(text)
    assert expression.steps == tuple(steps)
    assert expression.search(value) == jmespath.search(text, value)


@given(JSON, STEPS, st.text(alphabet="ab ü0", max_size=2))
def test_fast_conditions_agree_with_jmespath(value, steps, literal):
    chain = _render(steps)
    for text in (f"!({chain})", f"{chain} == '{literal}'", f'{chain} != `"{literal}"`'):
        assert compile_expression(text).search(value) == jmespath.search(text, value)


@given(JSON)
def test_truthiness_matches_jmespath(value):
    assert is_truthy(value) == jmespath.search("@ && `true` || `false`", value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("Hi", "Hi"),
        (3, "3"),
        (-2.5, "-2.5"),
        (True, "true"),
        (False, "false"),
        (["a", None, "b", 1], "ab1"),
        ([["a", ["b"]], "c"], "abc"),
        ([], ""),
        ({"a": 1, "b": [True, None]}, '{"a":1,"b":[true,null]}'),
        (2**70, str(2**70)),
    ],
)
def test_to_text_converts_each_json_kind(value, text):
    assert to_text(value) == text


def test_function_failing_on_a_chunk_is_a_stream_format_error():
    expression = compile_expression("join('', parts)")
    with pytest.raises(StreamFormatError, match=r"join\(\) in .* got a null") as caught:
        expression.search({"parts": ["secret", None]})
    assert "secret" not in str(caught.value)
