"""``sluice integration run``: run an integration from a file and watch its pieces arrive."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from sluice.commands.console import err
from sluice.errors import ConfigError, UpstreamError
from sluice.integrations.executor import stream_integration
from sluice.integrations.loader import load_integrations
from sluice.integrations.model import Integration
from sluice.integrations.session import upstream_session
from sluice.integrations.templating import template_context

app = typer.Typer(
    help="Work with integrations (HTTP requests that may stream).", no_args_is_help=True
)


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="YAML or JSON file holding the integration.")],
    var: Annotated[
        list[str] | None, typer.Option("--var", help="A template variable, NAME=VALUE.")
    ] = None,
    question: Annotated[str, typer.Option(help="The user's message, as `question`.")] = "",
    integration_id: Annotated[
        str | None, typer.Option("--id", help="Which integration, when the file has several.")
    ] = None,
) -> None:
    """Send the request; print the bot's pieces as they arrive, then a summary."""
    try:
        integration = _pick(load_integrations([file]), integration_id, file)
        variables = dict(_parse_var(item) for item in var or [])
    except ConfigError as exc:
        err().print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    context = template_context(question=question, vars=variables)
    if not asyncio.run(_run(integration, context)):
        raise typer.Exit(1)


def _pick(found: dict[str, Integration], wanted: str | None, file: Path) -> Integration:
    if wanted is not None:
        if wanted not in found:
            raise ConfigError(f"no integration {wanted!r}; found {', '.join(found) or 'none'}")
        return found[wanted]
    if len(found) != 1:
        names = ", ".join(found) or "none"
        raise ConfigError(f"expected one integration, found {names}: choose one with --id")
    return next(iter(found.values()))


def _parse_var(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise ConfigError(f"expected NAME=VALUE, got {item!r}", field="--var")
    return name, value


async def _run(integration: Integration, context: dict[str, object]) -> bool:
    started = time.perf_counter()
    first_piece_s: float | None = None
    error: UpstreamError | None = None
    async with (
        upstream_session() as session,
        stream_integration(integration, context, session=session) as stream,
    ):
        try:
            async for piece in stream:
                if first_piece_s is None:
                    first_piece_s = time.perf_counter() - started
                sys.stdout.write(piece)
                sys.stdout.flush()
        except UpstreamError as exc:
            error = exc
        result = stream.result
    sys.stdout.write("\n")
    total_s = time.perf_counter() - started
    first = "-" if first_piece_s is None else f"{first_piece_s * 1000:.0f} ms"
    err().print(
        f"[dim]{len(result.chunks)} chunks, {len(result.text)} characters, "
        f"first piece {first}, total {total_s * 1000:.0f} ms, HTTP {result.status}[/dim]"
    )
    if error is not None:
        err().print(f"[red]error ({error.code}):[/red] {error.message}")
    return error is None
