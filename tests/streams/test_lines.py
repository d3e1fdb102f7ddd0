"""Raw-lines framing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sluice.streams.lines import LineDecoder


def lines(body: bytes, cut: int | None = None) -> list[str]:
    decoder = LineDecoder()
    out = decoder.decode(body[:cut]) if cut is not None else []
    out += decoder.decode(body[cut:] if cut is not None else body) + decoder.flush()
    return [chunk.raw for chunk in out]


def test_every_line_is_a_chunk_blank_lines_kept():
    assert lines(b"one\r\ntwo\n\nthree") == ["one", "two", "", "three"]


def test_final_terminator_adds_no_empty_line():
    assert lines(b"one\ntwo\n") == ["one", "two"]


def test_chunk_data_is_the_text():
    (chunk,) = LineDecoder().decode("héllo\n".encode())
    assert chunk.data == chunk.raw == "héllo"


@given(st.text(max_size=80), st.integers(0, 200))
def test_any_split_yields_the_same_lines(text, cut):
    body = text.encode()
    assert lines(body, min(cut, len(body))) == lines(body)
