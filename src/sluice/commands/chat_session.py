"""The terminal chat behind ``sluice chat FLOW``, on the SDK (imported only when used).

Tokens are shown as they arrive; the conversation's chat id is kept across turns. Ctrl+C
while an answer streams aborts that run on the server and returns to the prompt; ``/quit``,
Ctrl+D or Ctrl+C at the prompt leave.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from sluice.client import (
    End,
    Metadata,
    PredictionEvent,
    SluiceClient,
    SluiceClientError,
    SourceDocuments,
    StreamError,
    Token,
    UsedTools,
)

_QUIT = "/quit"


def run_chat(flow: str, url: str, api_key: str | None) -> None:
    """The terminal chat loop (see ``sluice.commands.chat``)."""
    console = Console(highlight=False)
    console.print(f"Chatting with [bold]{escape(flow)}[/] at {escape(url)}; {_QUIT} to leave.")
    chat_id: str | None = None
    with SluiceClient(url, api_key=api_key) as client:
        while (question := _ask(console)) is not None:
            if not question.strip():
                continue
            try:
                chat_id = _answer(client, console, flow, question, chat_id)
            except SluiceClientError as exc:
                console.print(f"[red]error:[/] {escape(str(exc))}")


def _ask(console: Console) -> str | None:
    """The next question, or ``None`` when the user leaves."""
    try:
        text = console.input("[bold cyan]you>[/] ")
    except (EOFError, KeyboardInterrupt):
        console.print()
        return None
    return None if text.strip() == _QUIT else text


def _answer(
    client: SluiceClient, console: Console, flow: str, question: str, chat_id: str | None
) -> str | None:
    """Stream one answer; the chat id to continue with."""
    console.print("[bold green]bot>[/] ", end="")
    with client.predict(flow, question, chat_id=chat_id, auto_resume=True) as stream:
        try:
            for event in stream:
                chat_id = _render(console, event) or chat_id
        except KeyboardInterrupt:
            if stream.run_id is not None:
                client.abort(stream.run_id)
            console.print("\n[yellow](aborted)[/]")
    return chat_id


def _render(console: Console, event: PredictionEvent) -> str | None:
    """Show one event; the chat id when the event carries it."""
    if isinstance(event, Token):
        console.out(event.text, end="", highlight=False)
    elif isinstance(event, SourceDocuments):
        sources = ", ".join(str(d.metadata.get("source", "?")) for d in event.documents)
        console.print(f"\n[dim]sources: {escape(sources)}[/]", end="")
    elif isinstance(event, UsedTools):
        tools = ", ".join(tool.tool for tool in event.tools)
        console.print(f"\n[dim]tools: {escape(tools)}[/]", end="")
    elif isinstance(event, StreamError):
        console.print(f"\n[red]error:[/] {escape(event.message)}", end="")
    elif isinstance(event, Metadata):
        return event.chat_id
    elif isinstance(event, End):
        console.print()
    return None
