"""JSON-per-line framing: lines, blank-line separated and pretty-printed values, errors."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.errors import StreamFormatError
from sluice.streams.ndjson import NDJSONDecoder
from sluice.streams.types import JSONValue


def values(body: bytes, reads: list[int] | None = None) -> list[JSONValue]:
    decoder = NDJSONDecoder()
    out = []
    position = 0
    for size in reads or []:
        out += decoder.decode(body[position : position + size])
        position += size
    out += decoder.decode(body[position:]) + decoder.flush()
    return [chunk.data for chunk in out]


def test_one_value_per_line_blank_lines_skipped():
    assert values(b'{"a": 1}\n\n{"a": 2}\r\n  \n[3]') == [{"a": 1}, {"a": 2}, [3]]


def test_raw_keeps_the_line_text():
    decoder = NDJSONDecoder()
    (chunk,) = decoder.decode(b'{"a":  1}\n')
    assert chunk.raw == '{"a":  1}'
    assert chunk.event is None


def test_pretty_printed_values_separated_by_blank_lines():
    body = b'{\n  "a": 1,\n  "b": [\n    2\n  ]\n}\n\n{\n  "a": 3\n}\n'
    assert values(body) == [{"a": 1, "b": [2]}, {"a": 3}]


def test_line_that_is_not_json_is_an_error_at_once():
    decoder = NDJSONDecoder()
    assert decoder.decode(b'{"a": 1}\n') != []
    with pytest.raises(StreamFormatError, match="not JSON"):
        decoder.decode(b"hello world\n")


def test_value_cut_at_end_of_body_is_an_error():
    decoder = NDJSONDecoder()
    decoder.decode(b'{"a": 1}\n{"b": ')
    with pytest.raises(StreamFormatError, match="ended inside a JSON value"):
        decoder.flush()


def test_malformed_multiline_value_is_an_error():
    decoder = NDJSONDecoder()
    with pytest.raises(StreamFormatError, match="malformed"):
        decoder.decode(b'{"a":\n1 2}\n')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(st.lists(json_values, max_size=8), st.lists(st.integers(0, 30), max_size=20), st.booleans())
def test_any_split_and_layout_yields_the_same_values(items, reads, pretty):
    option = orjson.OPT_INDENT_2 if pretty else 0
    body = b"\n\n".join(orjson.dumps(item, option=option) for item in items) + b"\n"
    assert values(body, reads) == items
