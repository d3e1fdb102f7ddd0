"""Incremental UTF-8 decoding with line ends normalised, and line splitting on top of it.

A multi-byte character split across reads is held until its last byte arrives, and a
CR that ends one read is matched with an LF that starts the next, so any split of the
same bytes yields the same text and the same lines. Invalid UTF-8 becomes U+FFFD, as the
event-stream spec requires.
"""

from __future__ import annotations

import codecs


class TextDecoder:
    """Bytes in, text out with every CR, LF and CRLF turned into one LF.

    A leading byte order mark is dropped when ``strip_bom``.
    """

    __slots__ = ("_at_start", "_decoder", "_pending_cr", "_strip_bom")

    def __init__(self, *, strip_bom: bool = True) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending_cr = False
        self._at_start = True
        self._strip_bom = strip_bom

    def decode(self, data: bytes, *, final: bool = False) -> str:
        text = self._decoder.decode(data, final)
        if not text:
            return ""
        if self._at_start:
            self._at_start = False
            if self._strip_bom and text[0] == "\ufeff":
                text = text[1:]
        if "\r" in text or self._pending_cr:
            if self._pending_cr and text[:1] == "\n":
                # The CR that ended the previous read already ended this line: CRLF split in two.
                text = text[1:]
            self._pending_cr = text[-1:] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text


class LineSplitter:
    """Bytes in, complete lines out (terminators removed).

    ``decode`` returns the lines completed by this read; ``flush`` returns the last line
    when the body did not end with a terminator.
    """

    __slots__ = ("_pending", "_text")

    def __init__(self, *, strip_bom: bool = True) -> None:
        self._text = TextDecoder(strip_bom=strip_bom)
        self._pending = ""

    def decode(self, data: bytes) -> list[str]:
        text = self._text.decode(data)
        if not text:
            return []
        if self._pending:
            text = self._pending + text
        lines = text.split("\n")
        self._pending = lines.pop()
        return lines

    def flush(self) -> list[str]:
        tail = self._pending + self._text.decode(b"", final=True)
        self._pending = ""
        if not tail:
            return []
        lines = tail.split("\n")
        if lines[-1] == "":
            lines.pop()
        return lines
