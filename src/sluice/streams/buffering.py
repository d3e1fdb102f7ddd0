"""Buffering: when mapped text is released to the user — at once, by words or by sentences.

Buffers change timing, never text: the released pieces always join to the mapped pieces.
Held text goes out at the end of the stream (``flush``), when it grows past
``max_hold_chars``, or once it has waited ``max_hold_ms`` (``poll``, or the next ``decode``).
The choice of hand-written rules over a library segmenter is measured in docs/buffering.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Protocol

from sluice.streams.sentences import TRIGGER, next_boundary
from sluice.streams.types import Buffering

# Scripts written without spaces: each ideograph, kana, hangul syllable or CJK punctuation mark
# is a word of its own, so such text flows instead of waiting for whitespace.
_CJK = (
    "\u2e80-\u2fff\u3001-\u303f\u3040-\u30ff\u3100-\u318f\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff01-\uff60\U00020000-\U0003ffff"
)
# Greedy, so the match ends just after the last break; backtracks from the end only.
_LAST_BREAK = re.compile(f".*[\\s{_CJK}]", re.DOTALL)


class TextBuffer(Protocol):
    """The buffering stage: push mapped text, get back the pieces ready to go to the user."""

    def decode(self, text: str) -> list[str]:
        """Push mapped text; return the pieces to release now (none empty)."""
        ...

    def decode_all(self, texts: list[str]) -> list[str]:
        """``decode`` of each text in turn (empty ones skipped), the pieces joined in one
        list: the pipeline pushes one upstream read's texts at once."""
        ...

    def flush(self) -> list[str]:
        """End of stream: return everything still held."""
        ...

    def poll(self) -> list[str]:
        """Return held text whose ``max_hold_ms`` has passed by the clock."""
        ...

    def hold_deadline(self) -> float | None:
        """Clock time (seconds) when held text falls due; ``None`` when none can."""
        ...


def word_end(text: str) -> int:
    """Index just after the last word break (whitespace or a CJK character); 0 if none."""
    if text[-1].isspace():
        return len(text)
    if text.isascii():
        return len(text) - len(text.rsplit(None, 1)[-1])
    match = _LAST_BREAK.match(text)
    return 0 if match is None else match.end()


class _Passthrough:
    """``none``: every non-empty piece goes out at once."""

    __slots__ = ()

    def decode(self, text: str) -> list[str]:
        return [text] if text else []

    def decode_all(self, texts: list[str]) -> list[str]:
        return [text for text in texts if text]

    def flush(self) -> list[str]:
        return []

    def poll(self) -> list[str]:
        return []

    def hold_deadline(self) -> float | None:
        return None


class _Holding:
    """What the word and sentence buffers share: held text and the two hold limits."""

    __slots__ = ("_clock", "_held", "_is_limited", "_max_chars", "_max_s", "_since")

    def __init__(
        self, max_hold_chars: int | None, max_hold_ms: int | None, clock: Callable[[], float]
    ) -> None:
        self._held = ""
        self._max_chars = max_hold_chars
        self._max_s = None if max_hold_ms is None else max_hold_ms / 1000
        self._is_limited = max_hold_chars is not None or max_hold_ms is not None
        self._clock = clock
        self._since = 0.0

    def decode(self, text: str) -> list[str]:
        raise NotImplementedError

    def decode_all(self, texts: list[str]) -> list[str]:
        out: list[str] = []
        for text in texts:
            if text:
                out += self.decode(text)
        return out

    def flush(self) -> list[str]:
        return self._release(len(self._held))

    def poll(self) -> list[str]:
        if self._held and self._max_s is not None and self._clock() >= self._since + self._max_s:
            return self._release(len(self._held))
        return []

    def hold_deadline(self) -> float | None:
        if not self._held or self._max_s is None:
            return None
        return self._since + self._max_s

    def _enforce(self, out: list[str], arrived: int) -> list[str]:
        """Apply the hold limits after a decode; ``arrived`` is the new text's length.

        The hold clock restarts only when everything held arrived in this decode, so
        held text never waits longer than ``max_hold_ms`` (it may go out a little early).
        """
        held = len(self._held)
        if not held:
            return out
        if self._max_s is not None:
            now = self._clock()
            if held <= arrived:
                self._since = now
            elif now >= self._since + self._max_s:
                return out + self._release(held)
        if self._max_chars is not None and held > self._max_chars:
            return out + self._release(self._overflow_cut())
        return out

    def _overflow_cut(self) -> int:
        """How much held text to release when it outgrows ``max_hold_chars``."""
        return len(self._held)

    def _release(self, cut: int) -> list[str]:
        piece = self._held[:cut]
        self._held = self._held[cut:]
        if self._held:
            self._since = self._clock() if self._max_s is not None else 0.0
        return [piece] if piece else []


class _WordBuffer(_Holding):
    """``words``: release up to and including the last whitespace or CJK character."""

    __slots__ = ()

    def decode(self, text: str) -> list[str]:
        if text.isascii() and text.isprintable():
            # The common token: printable ASCII holds no whitespace but " ", and no CJK.
            head, space, tail = text.rpartition(" ")
            if not space:
                if not text:
                    return self.poll()
                self._held += text
                return self._enforce([], len(text)) if self._is_limited else []
            out = [self._held + head + space]
            self._held = tail
        else:
            cut = word_end(text)
            if not cut:
                self._held += text
                return self._enforce([], len(text)) if self._is_limited else []
            out = [self._held + text[:cut]]
            self._held = text[cut:]
        return self._enforce(out, len(text)) if self._is_limited else out

    def decode_all(self, texts: list[str]) -> list[str]:
        if self._is_limited:
            return super().decode_all(texts)
        # The per-token path of ``decode`` for printable ASCII, inlined: measured, the
        # method call and the list per token were a third of the buffer's cost.
        out: list[str] = []
        held = self._held
        for text in texts:
            if text.isascii() and text.isprintable():
                head, space, tail = text.rpartition(" ")
                if space:
                    out.append(held + head + space)
                    held = tail
                else:
                    held += text
            elif text:
                self._held = held
                out += self.decode(text)
                held = self._held
        self._held = held
        return out


class _SentenceBuffer(_Holding):
    """``sentences``: release whole sentences, each with the whitespace after it."""

    __slots__ = ("_pos",)

    def __init__(
        self, max_hold_chars: int | None, max_hold_ms: int | None, clock: Callable[[], float]
    ) -> None:
        super().__init__(max_hold_chars, max_hold_ms, clock)
        self._pos = 0  # where the scan resumes: stops before it are judged

    def decode(self, text: str) -> list[str]:
        if not text:
            return self.poll()
        if self._pos == len(self._held) and TRIGGER.search(text) is None:
            # The common token: no stop in it and none waiting for what follows.
            self._held += text
            self._pos += len(text)
            return self._enforce([], len(text)) if self._is_limited else []
        held = self._held + text
        out: list[str] = []
        start = 0
        end, pos = next_boundary(held, self._pos, 0)
        while end:
            out.append(held[start:end])
            start = end
            end, pos = next_boundary(held, pos, start)
        self._held = held[start:] if start else held
        self._pos = pos - start
        return self._enforce(out, len(text)) if self._is_limited else out

    def _overflow_cut(self) -> int:
        return word_end(self._held) or len(self._held)

    def _release(self, cut: int) -> list[str]:
        self._pos = max(0, self._pos - cut)
        return super()._release(cut)


def make_buffer(
    mode: Buffering,
    *,
    max_hold_chars: int | None = None,
    max_hold_ms: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TextBuffer:
    """Build the buffer for ``mode``.

    ``max_hold_chars``: once more than this many characters are held, release them (in
    ``sentences`` mode up to the last word break, if any). ``max_hold_ms``: text held this
    long since it began to be held is released by ``poll`` or the next ``decode``.
    ``clock`` returns seconds (``time.monotonic`` by default; tests pass a fake).
    """
    for name, limit in (("max_hold_chars", max_hold_chars), ("max_hold_ms", max_hold_ms)):
        if limit is not None and limit < 0:
            raise ValueError(f"expected {name} >= 0, got {limit}")
    if mode == Buffering.NONE:
        return _Passthrough()
    if mode == Buffering.WORDS:
        return _WordBuffer(max_hold_chars, max_hold_ms, clock)
    if mode == Buffering.SENTENCES:
        return _SentenceBuffer(max_hold_chars, max_hold_ms, clock)
    raise ValueError(f"expected a Buffering mode, got {mode!r}")
