"""What a run has said so far, kept beside the log so that a cut run still gets its ``Final``.

A producer that is aborted or fails rarely reaches its own ``Final``; the registry builds
one from the tokens, tool calls and sources it saw, so the message is stored whole.
"""

from __future__ import annotations

from sluice.events import (
    Error,
    Event,
    Final,
    FinishReason,
    Saved,
    SourceDocument,
    Sources,
    Token,
    ToolEnd,
    ToolStart,
    ToolUse,
)


class Transcript:
    """Observes a run's events in order; ``build_final`` says what they added up to.

    ``final`` is the producer's own ``Final`` when it sent one, ``error`` its last ``Error``,
    ``message_id`` the id of its ``Saved``.
    """

    __slots__ = ("_open_tools", "_parts", "_sources", "_tools", "error", "final", "message_id")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._tools: list[ToolUse] = []
        self._open_tools: dict[str, ToolStart] = {}
        self._sources: list[SourceDocument] = []
        self.final: Final | None = None
        self.error: Error | None = None
        self.message_id: str | None = None

    def observe(self, event: Event) -> None:
        if isinstance(event, Token):
            self._parts.append(event.text)
        elif isinstance(event, ToolStart):
            self._open_tools[event.call_id or event.name] = event
        elif isinstance(event, ToolEnd):
            start = self._open_tools.pop(event.call_id or event.name, None)
            tool_input = {} if start is None else start.input
            self._tools.append(
                ToolUse(event.name, tool_input, event.output, event.call_id, event.error)
            )
        elif isinstance(event, Sources):
            self._sources += event.documents
        elif isinstance(event, Final):
            self.final = event
        elif isinstance(event, Error):
            self.error = event
        elif isinstance(event, Saved):
            self.message_id = event.message_id

    @property
    def text(self) -> str:
        """The tokens said so far, joined."""
        return "".join(self._parts)

    def build_final(self, reason: FinishReason | None = None) -> Final:
        """The message as said so far: tokens joined, finished tool calls, sources seen.

        Without a ``reason``, it is ``error`` when an ``Error`` was seen, else ``complete``.
        """
        if reason is None:
            reason = "complete" if self.error is None else "error"
        return Final(self.text, tuple(self._tools), tuple(self._sources), None, reason)
