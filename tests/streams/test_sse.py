"""The SSE decoder against the WHATWG event-stream rules, the spec's own examples and splits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sluice.streams.sse import SSEDecoder
from sluice.streams.types import SSEEvent


def decode_all(body: bytes, reads: list[int] | None = None) -> list[SSEEvent]:
    decoder: SSEDecoder[SSEEvent] = SSEDecoder()
    events: list[SSEEvent] = []
    position = 0
    for size in reads or []:
        events += decoder.decode(body[position : position + size])
        position += size
    events += decoder.decode(body[position:])
    return events + decoder.flush()


def test_spec_example_multiline_data_joined_with_lf():
    body = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert decode_all(body) == [SSEEvent("YHOO\n+2\n10")]


def test_spec_example_comments_ids_and_missing_space():
    body = (
        b": test stream\n\ndata: first event\nid: 1\n\n"
        b"data:second event\nid\n\ndata:  third event\n"
    )
    assert decode_all(body) == [
        SSEEvent("first event", id="1"),
        SSEEvent("second event", id=""),
        # Dispatched at end of body although no blank line follows: our documented leniency.
        SSEEvent(" third event", id=""),
    ]


def test_spec_example_empty_data_lines():
    body = b"data\n\ndata\ndata\n\ndata:"
    assert decode_all(body) == [SSEEvent(""), SSEEvent("\n"), SSEEvent("")]


def test_spec_example_space_after_colon_is_optional():
    assert decode_all(b"data:test\n\ndata: test\n\n") == [SSEEvent("test"), SSEEvent("test")]


def test_event_type_resets_after_dispatch():
    body = b"event: ping\ndata: 1\n\ndata: 2\n\n"
    assert [e.event for e in decode_all(body)] == ["ping", "message"]


def test_empty_event_field_means_message():
    assert decode_all(b"event:\ndata: x\n\n") == [SSEEvent("x")]


def test_block_without_data_is_not_dispatched_and_forgets_its_type():
    assert decode_all(b"event: a\n\ndata: x\n\n") == [SSEEvent("x")]


def test_unknown_fields_are_ignored():
    assert decode_all(b"foo: bar\ndata: x\nbaz\n\n") == [SSEEvent("x")]


def test_id_with_null_is_ignored_and_id_persists():
    body = b"id: 7\ndata: a\n\nid: 8\x00\ndata: b\n\n"
    assert [e.id for e in decode_all(body)] == ["7", "7"]


def test_retry_only_digits():
    body = b"retry: 1500\ndata: a\n\nretry: 1x\ndata: b\n\n"
    assert [e.retry_ms for e in decode_all(body)] == [1500, None]


def test_leading_bom_is_dropped_once():
    assert decode_all(b"\xef\xbb\xbfdata: a\n\n") == [SSEEvent("a")]
    assert decode_all(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n") == []  # second BOM names a field


def test_bom_split_across_reads():
    assert decode_all(b"\xef\xbb\xbfdata: a\n\n", [1, 1]) == [SSEEvent("a")]


def test_cr_lf_and_crlf_all_end_lines():
    for end in (b"\r", b"\n", b"\r\n"):
        body = b"data: a" + end + b"data: b" + end + end
        assert decode_all(body) == [SSEEvent("a\nb")]


def test_crlf_split_across_reads_yields_one_line_end():
    body = b"data: a\r\n\r\ndata: b\r\n\r\n"
    for cut in range(len(body) + 1):
        assert decode_all(body, [cut]) == [SSEEvent("a"), SSEEvent("b")], cut


def test_multibyte_utf8_split_across_reads():
    body = "data: héllo 世界 🎉\n\n".encode()
    for cut in range(len(body) + 1):
        assert decode_all(body, [cut]) == [SSEEvent("héllo 世界 🎉")]


def test_invalid_utf8_becomes_replacement_character():
    assert decode_all(b"data: a\xffb\n\n") == [SSEEvent("a\ufffdb")]


def test_last_event_id_is_exposed():
    decoder: SSEDecoder[SSEEvent] = SSEDecoder()
    decoder.decode(b"id: 42\ndata: x\n\n")
    assert decoder.last_event_id == "42"


_line_ends = st.sampled_from(["\n", "\r", "\r\n"])
_values = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"),
    max_size=20,
)


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A stream of well-formed events and the data each must yield."""
    parts: list[str] = []
    expected: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        lines = draw(st.lists(_values, min_size=1, max_size=3))
        if draw(st.booleans()):
            parts.append(":" + draw(_values) + draw(_line_ends))
        for line in lines:
            parts.append("data: " + line + draw(_line_ends))
        # After a CR, an LF would merge into CRLF instead of making a blank line: use CR.
        parts.append("\r" if parts[-1].endswith("\r") else draw(_line_ends))
        expected.append("\n".join(lines))
    return "".join(parts).encode(), expected


@given(event_streams(), st.lists(st.integers(0, 64), max_size=30))
def test_any_split_yields_the_same_events(stream: tuple[bytes, list[str]], reads: list[int]):
    body, expected = stream
    assert [e.data for e in decode_all(body)] == expected
    assert decode_all(body, reads) == decode_all(body)


@given(st.binary(max_size=300), st.lists(st.integers(0, 40), max_size=20))
def test_arbitrary_bytes_never_raise_and_split_does_not_matter(body: bytes, reads: list[int]):
    assert decode_all(body, reads) == decode_all(body)
