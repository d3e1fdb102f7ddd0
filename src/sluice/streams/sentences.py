"""Incremental sentence-boundary rules: where a sentence ends in text that may still grow.

A boundary falls after a sentence's stop, its closing quotes or brackets and the whitespace
after them, so each sentence carries its trailing whitespace. Deciding needs the first
character after that whitespace (and, after "U.S."-like abbreviations, the whole next word);
until it has arrived the scanner waits, so any split of the same text yields the same
boundaries. Measured against pysbd and sentencex in docs/buffering.md (bench/segmenters.py).
"""

from __future__ import annotations

import re

# The look-alike marks below are the point (RUF001): CJK, Devanagari, Arabic and Urdu stops,
# typographic quotes and bullets.
_LATIN_STOPS = ".!?…‼⁇⁈⁉"
_STRONG_STOPS = "。！？｡।॥؟۔"  # noqa: RUF001
_CLOSERS = "\"'”’)]}»›」』》）】〕〉*_`~"  # noqa: RUF001
_OPENERS = "\"'“‘([{«‹¿¡*_`~"  # noqa: RUF001
_BULLETS = "•⁃‣◦·-*–—"  # noqa: RUF001

TRIGGER = re.compile(f"[{_LATIN_STOPS}{_STRONG_STOPS}\n]")
"""Characters where a sentence may end: text without them cannot complete one."""
# A run of stops, with spaced ellipsis dots (". . .") folded into it.
_RUN = re.compile(f"[{_LATIN_STOPS}{_STRONG_STOPS}]+(?: [.…]+)*")
_TAIL = re.compile(r"[" + re.escape(_CLOSERS) + r"]*(\s*)")
_NON_SPACE = re.compile(r"\S")
_MULTI_PERIOD = re.compile(r"(?:[A-Za-z]{1,2}\.)+[A-Za-z]{1,2}")
_LETTERS = re.compile(r"[^\W\d_]*")

# Never end a sentence, whatever follows: titles and Latin abbreviations that precede a word.
_TITLES = frozenset(
    "mr mrs ms mx dr prof st mt ft gen col capt cpt lt sgt cpl maj adm cmdr gov sen rep rev "
    "hon pres supt insp messrs mme mlle fr e.g i.e cf viz vs approx dept".split()
)
# Do not end a sentence before a number: "No. 5", "p. 12", "Fig. 3".
_NUMERIC = frozenset("no nos nr n° p pp fig figs vol vols ch chap sec art eq ed tab ref ca".split())
# After "U.S."-like abbreviations, only these words start a new sentence (Pragmatic Segmenter).
_STARTERS = frozenset(
    "A Being Did For He How However I In It Millions More She That The There They We What "
    "When Where Who Why This You My But So If Then Now Yes No Our".split()
)

WAIT = 0
"""Returned by :func:`decide` when the text after the candidate has not arrived yet."""


def next_boundary(text: str, pos: int, sentence_start: int) -> tuple[int, int]:
    """Find the first sentence end at or after ``pos`` in ``text``.

    ``text[sentence_start:]`` starts a sentence and stops before ``pos`` were already
    judged. Returns ``(end, resume)``: ``end`` is the boundary index, or 0 when no
    sentence is complete yet; ``resume`` is where the next search starts (after more
    text has arrived, when ``end`` is 0).
    """
    while (match := TRIGGER.search(text, pos)) is not None:
        start = match.start()
        end = decide(text, start, sentence_start)
        if end == WAIT:
            return 0, start
        if end > 0:
            return end, end
        pos = -end
    return 0, len(text)


def decide(text: str, start: int, sentence_start: int) -> int:
    """Judge the stop (or newline) at ``text[start]``.

    Returns the boundary index (> 0) when a sentence ends there, ``-resume`` when it does
    not (scanning goes on at ``resume``), or :data:`WAIT` when more text is needed.
    """
    if start + 1 == len(text):  # the stop arrived last: what follows decides
        return WAIT
    if text[start] == "\n":
        found = _NON_SPACE.search(text, start)
        return WAIT if found is None else found.start()
    run = _RUN.match(text, start)
    assert run is not None  # the trigger is a stop, so the run holds at least it
    tail = _TAIL.match(text, run.end())
    assert tail is not None  # every part of the pattern may be empty
    after = tail.end()
    if after == len(text):
        return WAIT
    stops = run.group()
    if stops.strip(_LATIN_STOPS + " "):  # a CJK, Devanagari or Arabic stop is in the run
        is_title = text.rfind("《", sentence_start, start) > text.rfind("》", sentence_start, start)
        return -tail.start(1) if is_title else after
    if not tail.group(1):  # "3.14", "e.g.", "Jr.'s", "...see": no space, no end
        return -tail.start(1)
    nxt = text[after]
    if nxt.islower() or nxt in _CLOSERS or nxt in _LATIN_STOPS:
        return -tail.start(1)
    if stops.strip(". …"):  # "!" or "?" in the run
        return after
    is_end = _is_end(text, start, stops, sentence_start, after)
    if is_end is None:
        return WAIT
    return after if is_end else -tail.start(1)


def _is_end(text: str, start: int, stops: str, sentence_start: int, after: int) -> bool | None:
    """Judge dots followed by whitespace and a character that is not lowercase.

    ``None`` means the word after the whitespace is needed and has not fully arrived.
    """
    dots = stops.count(".") + 3 * stops.count("…")
    if dots > 1:
        if start > sentence_start and text[start - 1] in "[(":  # "[...]" marks an omission
            return False
        return not (" " in stops and dots == 3)  # ". . ." inside a sentence; "...." ends one
    word_start = _word_start(text, start, sentence_start)
    token = text[word_start:start].lstrip(_OPENERS + _BULLETS)
    low = token.lower()
    if low in _TITLES or (low in _NUMERIC and text[after].isdigit()):
        return False
    if len(token) == 1 and token.isalpha():
        return token == "I" and not _follows_name(text, word_start, sentence_start)
    if token.isdigit() and len(token) <= 3 and _opens_line(text, word_start, sentence_start):
        return False  # a list marker: "1. The first item"
    if _MULTI_PERIOD.fullmatch(token):
        word = _LETTERS.match(text, after)
        assert word is not None  # the pattern may be empty
        if word.end() == len(text):
            return None
        return word.group() in _STARTERS
    return True


def _word_start(text: str, end: int, floor: int) -> int:
    """Index where the word ending at ``end`` begins (not before ``floor``)."""
    i = end
    while i > floor and not text[i - 1].isspace():
        i -= 1
    return i


def _follows_name(text: str, word_start: int, floor: int) -> bool:
    """Whether the word before ``word_start`` is capitalised ("Albert I. Jones")."""
    i = word_start
    while i > floor and text[i - 1].isspace():
        i -= 1
    prev = _word_start(text, i, floor)
    return prev < i and text[prev].isupper()


def _opens_line(text: str, word_start: int, floor: int) -> bool:
    """Whether only whitespace and bullets stand between the line's start and ``word_start``."""
    line_start = max(floor, text.rfind("\n", floor, word_start) + 1)
    return not text[line_start:word_start].strip().strip(_BULLETS)


def split_sentences(text: str) -> list[str]:
    """Split a whole text into sentences with the same rules the streaming buffer applies."""
    pieces: list[str] = []
    start = pos = 0
    while True:
        end, pos = next_boundary(text, pos, start)
        if not end:
            break
        pieces.append(text[start:end])
        start = end
    if start < len(text):
        pieces.append(text[start:])
    return pieces
