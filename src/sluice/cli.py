"""The ``sluice`` command: one typer app, sub-commands grouped by what they work on."""

from __future__ import annotations

import typer

from sluice.commands import chat, db, flow, integration, keys, serve, stream

app = typer.Typer(
    name="sluice",
    help="Sluice: a streaming server for conversational AI.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(stream.app, name="stream")
app.add_typer(integration.app, name="integration")
app.add_typer(flow.app, name="flow")
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.command("serve")(serve.serve)
app.command("chat")(chat.chat)


def main() -> None:
    app()
