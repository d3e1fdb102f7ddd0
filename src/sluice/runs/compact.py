"""A finished run's events kept small: one compressed blob, each stretch of tokens in it as
one text and its tokens' lengths.

A finished run stays readable for its retention (resuming clients, late JSON collectors),
and with one ``Token`` object per token that was most of a busy server's memory: a million
tokens retained held ~100 MB. A busy server holds thousands of finished runs for minutes
and reads one again rarely (a client resuming after the end), so a compacted run is its
events' JSON form, compressed, in one ``bytes``: no object per event, and the answer's
text once (a stretch that says what the ``Final`` says keeps no text of its own). It is
decoded on each read.

Reading a compacted run gives each stretch of tokens as one ``Token`` numbered as its last
(what a slow reader gets from ``coalesce_tokens``), starting inside the stretch when the
reader resumes from the middle of it: the text is the same, nothing is missed.
"""

from __future__ import annotations

import zlib
from bisect import bisect_right
from typing import Any

import orjson

from sluice.events import Event, Token, event_from_dict
from sluice.runs.log import LogEntry

_TOKENS = "tokens"
"""The type of a stretch of tokens in the blob (never an event's type)."""


class CompactRun:
    """A finished run's events, read like the list they came from."""

    __slots__ = ("_blob", "count")

    def __init__(self, events: list[Event | str]) -> None:
        """``events`` as the in-memory log keeps them: a token as its text."""
        self.count = len(events)
        firsts: list[int] = []  # the sequence number of each item's first event
        items: list[dict[str, Any]] = []
        texts: list[str] = []
        for seq, event in enumerate(events, 1):
            if isinstance(event, str):
                if not texts:
                    firsts.append(seq)
                texts.append(event)
                continue
            if texts:
                items.append(_stretch(texts))
                texts = []
            firsts.append(seq)
            items.append(event.to_dict())
        if texts:
            items.append(_stretch(texts))
        _share_final_text(items)
        self._blob = zlib.compress(orjson.dumps([firsts, items]), 1)

    def read(self, after_seq: int, limit: int | None = None) -> list[LogEntry]:
        """The events after ``after_seq``, each stretch of tokens as one (at most ``limit``)."""
        firsts, items = orjson.loads(zlib.decompress(self._blob))
        final_text = next((i["text"] for i in reversed(items) if i["type"] == "final"), "")
        out: list[LogEntry] = []
        index = max(0, bisect_right(firsts, after_seq + 1) - 1)
        for first, item in zip(firsts[index:], items[index:], strict=True):
            if limit is not None and len(out) >= limit:
                break
            if item["type"] == _TOKENS:
                lengths = item["lengths"]
                last = first + len(lengths) - 1
                if last <= after_seq:
                    continue
                skipped = after_seq + 1 - first
                start = sum(lengths[:skipped]) if skipped > 0 else 0
                text = final_text if item["text"] is None else item["text"]
                out.append((last, Token(text[start:])))
            elif first > after_seq:
                out.append((first, event_from_dict(item)))
        return out


def _stretch(texts: list[str]) -> dict[str, Any]:
    return {"type": _TOKENS, "text": "".join(texts), "lengths": [len(t) for t in texts]}


def _share_final_text(items: list[dict[str, Any]]) -> None:
    """When the tokens are one stretch saying what the ``Final`` says (the usual run), keep
    the text once: the stretch reads the ``Final``'s."""
    stretches = [item for item in items if item["type"] == _TOKENS]
    finals = [item for item in items if item["type"] == "final"]
    if len(stretches) == 1 and finals and finals[-1]["text"] == stretches[0]["text"]:
        stretches[0]["text"] = None
