"""A finished run's events kept small: each stretch of tokens as one text and its cut points.

A finished run stays readable for its retention (resuming clients, late JSON collectors),
and with one ``Token`` object per token that was most of a busy server's memory: a million
tokens retained held ~100 MB. Compacted, a token costs its characters and four bytes.

Reading a compacted run gives each stretch of tokens as one ``Token`` numbered as its last
(what a slow reader gets from ``coalesce_tokens``), starting inside the stretch when the
reader resumes from the middle of it: the text is the same, nothing is missed.

A finished run is kept for minutes and a busy server holds thousands, so the form is
small: the items in a tuple, their first numbers in an array, each token's length in one
byte (an array of them for a token longer than 255 characters).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass

from sluice.events import Event, Final, Token
from sluice.runs.log import LogEntry


@dataclass(frozen=True, slots=True)
class _Tokens:
    text: str
    lengths: bytes | array[int]  # each token's length, in order


def _lengths(texts: list[str]) -> bytes | array[int]:
    sizes = [len(text) for text in texts]
    return bytes(sizes) if max(sizes) < 256 else array("I", sizes)


class CompactRun:
    """A finished run's events, read like the list they came from."""

    __slots__ = ("_firsts", "_items", "count")

    def __init__(self, events: list[Event | str]) -> None:
        """``events`` as the in-memory log keeps them: a token as its text."""
        self.count = len(events)
        items: list[Event | _Tokens] = []
        firsts = array("I")  # the sequence number of each item's first event
        texts: list[str] = []
        for seq, event in enumerate(events, 1):
            if isinstance(event, str):
                if not texts:
                    firsts.append(seq)
                texts.append(event)
                continue
            if texts:
                items.append(_Tokens("".join(texts), _lengths(texts)))
                texts = []
            firsts.append(seq)
            items.append(event)
        if texts:
            items.append(_Tokens("".join(texts), _lengths(texts)))
        _share_final_text(items)
        self._items = tuple(items)
        self._firsts = firsts

    def read(self, after_seq: int, limit: int | None = None) -> list[LogEntry]:
        """The events after ``after_seq``, each stretch of tokens as one (at most ``limit``)."""
        out: list[LogEntry] = []
        index = max(0, bisect_right(self._firsts, after_seq + 1) - 1)
        for first, item in zip(self._firsts[index:], self._items[index:], strict=True):
            if limit is not None and len(out) >= limit:
                break
            if isinstance(item, _Tokens):
                last = first + len(item.lengths) - 1
                if last <= after_seq:
                    continue
                skipped = after_seq + 1 - first
                start = sum(item.lengths[:skipped]) if skipped > 0 else 0
                out.append((last, Token(item.text[start:])))
            elif first > after_seq:
                out.append((first, item))
        return out


def _share_final_text(items: list[Event | _Tokens]) -> None:
    """When the tokens are one stretch saying what the ``Final`` says (the usual run), keep
    the text once: the stretch reads the ``Final``'s string."""
    stretches = [i for i, item in enumerate(items) if isinstance(item, _Tokens)]
    finals = [item for item in items if isinstance(item, Final)]
    if len(stretches) == 1 and finals:
        stretch = items[stretches[0]]
        assert isinstance(stretch, _Tokens)
        if finals[-1].text == stretch.text:
            items[stretches[0]] = _Tokens(finals[-1].text, stretch.lengths)
