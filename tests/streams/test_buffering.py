"""The buffering stage: text is never changed, only held until a word or sentence is whole."""

# ruff: noqa: RUF001 (CJK, Devanagari and typographic marks are what these tests are about)

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.streams.buffering import TextBuffer, make_buffer
from sluice.streams.sentences import split_sentences
from sluice.streams.types import Buffering

_CJK = "你好世界。！？こんにちはカタカナ한국어，"
_ALPHABET = "abcXYZ019 .,!?…'\"()\n\t" + _CJK + "।؟"
_VOCABULARY = [
    *"Dr. U.S. How e.g. 3.14 ... . . . I. Albert [...] co. The she 1. ’s **".split(" "),
    *(" ", "  ", "\n", "\n\n", "。", "！", "《", "》", "।", '."', "?!", "…", "p.m.", "No.", "5"),
]
_rich_text = st.lists(st.sampled_from(_VOCABULARY), max_size=30).map("".join)
_pieces = st.lists(st.text(alphabet=_ALPHABET, max_size=12), max_size=20)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _feed(buffer: TextBuffer, pieces: list[str]) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        out.extend(buffer.decode(piece))
    return out + buffer.flush()


def _resplit(text: str, cuts: list[int]) -> list[str]:
    bounds = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize("mode", list(Buffering))
@given(pieces=_pieces)
def test_released_text_equals_mapped_text(mode: Buffering, pieces: list[str]):
    out = _feed(make_buffer(mode), pieces)
    assert "".join(out) == "".join(pieces)
    assert all(out)


@pytest.mark.parametrize("mode", list(Buffering))
@given(pieces=_pieces, max_chars=st.integers(0, 8), steps=st.lists(st.floats(0, 0.1)))
def test_limits_never_change_text(mode: Buffering, pieces, max_chars, steps):
    clock = FakeClock()
    buffer = make_buffer(mode, max_hold_chars=max_chars, max_hold_ms=50, clock=clock)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        clock.now += steps[index] if index < len(steps) else 0.0
        out.extend(buffer.decode(piece))
        out.extend(buffer.poll())
    out.extend(buffer.flush())
    assert "".join(out) == "".join(pieces)
    assert all(out)


@given(pieces=_pieces)
def test_words_never_end_inside_a_word(pieces: list[str]):
    buffer = make_buffer(Buffering.WORDS)
    for piece in pieces:
        for released in buffer.decode(piece):
            assert released[-1].isspace() or released[-1] in _CJK


@given(
    text=st.text(alphabet=_ALPHABET, max_size=80) | _rich_text,
    cuts=st.lists(st.integers(0, 200)),
)
@settings(max_examples=500)
def test_any_split_releases_the_same_sentences(text: str, cuts: list[int]):
    buffer = make_buffer(Buffering.SENTENCES)
    released = [out for piece in _resplit(text, cuts) for out in buffer.decode(piece)]
    released += buffer.flush()
    assert released == split_sentences(text)


def test_none_releases_each_piece_at_once():
    buffer = make_buffer(Buffering.NONE)
    assert buffer.decode("Hel") == ["Hel"]
    assert buffer.decode("") == []
    assert buffer.flush() == []
    assert buffer.hold_deadline() is None


def test_words_hold_the_word_until_whitespace_follows():
    buffer = make_buffer(Buffering.WORDS)
    assert buffer.decode("Hel") == []
    assert buffer.decode("lo wor") == ["Hello "]
    assert buffer.decode("ld") == []
    assert buffer.flush() == ["world"]


def test_words_release_cjk_characters_at_once():
    buffer = make_buffer(Buffering.WORDS)
    assert buffer.decode("你好") == ["你好"]
    assert buffer.decode("世界。") == ["世界。"]


def test_words_release_trailing_whitespace_with_the_word():
    assert make_buffer(Buffering.WORDS).decode("Hello\n") == ["Hello\n"]


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (["Hello", ".", " W", "orld"], ["Hello. "]),
        (["Pi is 3", ".", "14", ". "], []),
        (["Dr", ".", " Smith", " came."], []),
        (["I live in the U.S.", " Ho", "w"], []),
        (["I live in the U.S.", " How", " about"], ["I live in the U.S. "]),
        (["你好", "。", "今"], ["你好。"]),
        (['He said "no.', '"', " Then"], ['He said "no." ']),
    ],
)
def test_sentences_wait_for_the_character_after_the_stop(pieces, expected):
    buffer = make_buffer(Buffering.SENTENCES)
    assert [out for piece in pieces for out in buffer.decode(piece)] == expected


def test_sentences_release_each_sentence_as_its_own_piece():
    buffer = make_buffer(Buffering.SENTENCES)
    assert buffer.decode("One. Two! Three") == ["One. ", "Two! "]
    assert buffer.flush() == ["Three"]


def test_max_hold_chars_releases_up_to_a_word_in_sentences_mode():
    buffer = make_buffer(Buffering.SENTENCES, max_hold_chars=10)
    assert buffer.decode("a long sentence with") == ["a long sentence "]
    assert buffer.flush() == ["with"]


def test_max_hold_chars_releases_everything_in_words_mode():
    buffer = make_buffer(Buffering.WORDS, max_hold_chars=3)
    assert buffer.decode("abcd") == ["abcd"]


def test_poll_releases_held_text_after_max_hold_ms():
    clock = FakeClock()
    buffer = make_buffer(Buffering.SENTENCES, max_hold_ms=500, clock=clock)
    assert buffer.decode("The answer is") == []
    assert buffer.hold_deadline() == pytest.approx(100.5)
    clock.now = 100.499
    assert buffer.poll() == []
    clock.now = 100.5
    assert buffer.poll() == ["The answer is"]
    assert buffer.hold_deadline() is None


def test_decode_after_the_deadline_releases_held_text():
    clock = FakeClock()
    buffer = make_buffer(Buffering.WORDS, max_hold_ms=200, clock=clock)
    assert buffer.decode("stal") == []
    clock.now += 0.3
    assert buffer.decode("led") == ["stalled"]


def test_hold_clock_starts_when_text_starts_being_held():
    clock = FakeClock()
    buffer = make_buffer(Buffering.WORDS, max_hold_ms=200, clock=clock)
    buffer.decode("one ")
    clock.now += 1.0
    assert buffer.decode("tw") == []
    assert buffer.hold_deadline() == pytest.approx(101.2)


def test_hold_deadline_is_none_without_a_time_limit():
    buffer = make_buffer(Buffering.WORDS, max_hold_chars=100)
    buffer.decode("held")
    assert buffer.hold_deadline() is None


def test_negative_limit_is_refused():
    with pytest.raises(ValueError, match="max_hold_ms"):
        make_buffer(Buffering.WORDS, max_hold_ms=-1)


@given(
    st.lists(st.text(max_size=12), max_size=30),
    st.sampled_from([Buffering.NONE, Buffering.WORDS, Buffering.SENTENCES]),
    st.sampled_from([None, 8]),
)
def test_decode_all_releases_the_same_pieces_as_decode_one_by_one(
    texts: list[str], mode: Buffering, max_chars: int | None
):
    one_by_one = make_buffer(mode, max_hold_chars=max_chars)
    batched = make_buffer(mode, max_hold_chars=max_chars)
    expected = [piece for text in texts if text for piece in one_by_one.decode(text)]
    assert batched.decode_all(texts) == expected
    assert batched.flush() == one_by_one.flush()
