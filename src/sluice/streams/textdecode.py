"""Incremental UTF-8 decoding and line splitting shared by the framing decoders.

A multi-byte character split across reads is held until its last byte arrives, and a
CR that ends one read is matched with an LF that starts the next, so any split of the
same bytes yields the same lines.
"""

from __future__ import annotations

import codecs


class LineSplitter:
    """Bytes in, complete lines out (terminators removed); CR, LF and CRLF all end a line.

    ``decode`` returns the lines completed by this read; ``flush`` returns the last line
    when the body did not end with a terminator. Invalid UTF-8 becomes U+FFFD, as the
    event-stream spec requires. A leading byte order mark is dropped when ``strip_bom``.
    """

    __slots__ = ("_at_start", "_decoder", "_pending", "_pending_cr", "_strip_bom")

    def __init__(self, *, strip_bom: bool = True) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._pending_cr = False
        self._at_start = True
        self._strip_bom = strip_bom

    def decode(self, data: bytes) -> list[str]:
        return self.decode_text(self._decoder.decode(data))

    def decode_text(self, text: str) -> list[str]:
        """Split already-decoded text; used by ``decode`` and by callers that hold text."""
        if not text:
            return []
        if self._at_start:
            self._at_start = False
            if self._strip_bom and text[0] == "\ufeff":
                text = text[1:]
        if "\r" in text or self._pending_cr:
            text = self._normalise_cr(text)
        if self._pending:
            text = self._pending + text
        lines = text.split("\n")
        self._pending = lines.pop()
        return lines

    def _normalise_cr(self, text: str) -> str:
        if self._pending_cr and text[:1] == "\n":
            # The CR that ended the previous read already ended this line: CRLF split in two.
            text = text[1:]
        self._pending_cr = text[-1:] == "\r"
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def flush(self) -> list[str]:
        tail = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        if not tail:
            return []
        if "\r" in tail:
            tail = tail.replace("\r\n", "\n").replace("\r", "\n")
        lines = tail.split("\n")
        if lines[-1] == "":
            lines.pop()
        return lines
