"""``sluice chat FLOW``: talk to a flow on a running Sluice server from the terminal.

Tokens are shown as they arrive; the conversation's chat id is kept across turns. Ctrl+C
while an answer streams aborts that run on the server and returns to the prompt; ``/quit``,
Ctrl+D or Ctrl+C at the prompt leave. The SDK (httpx) is imported when the command runs,
so that ``sluice serve`` does not carry it.
"""

from __future__ import annotations

from typing import Annotated

import typer


def chat(
    flow: Annotated[str, typer.Argument(help="The id of the flow to talk to.")],
    url: Annotated[str, typer.Option(help="The server's base URL.")] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None, typer.Option(envvar="SLUICE_API_KEY", help="API key, if the server wants one.")
    ] = None,
) -> None:
    """Chat with a flow on a running server; Ctrl+C stops an answer, /quit leaves."""
    from sluice.commands.chat_session import run_chat

    run_chat(flow, url, api_key)
