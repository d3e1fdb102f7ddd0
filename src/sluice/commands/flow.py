"""``sluice flow run``: run a flow for one question and show its events as they happen."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from sluice.commands.console import err
from sluice.errors import ConfigError
from sluice.events import Error, Event, Sources, Status, Token, ToolEnd, ToolStart
from sluice.flows.default import DEFAULT_FLOW_ID, default_flow
from sluice.flows.definitions import Definitions, load_definitions, parse_flow
from sluice.flows.model import Flow
from sluice.flows.runner import run_flow
from sluice.flows.state import FlowServices, RunInput
from sluice.integrations.loader import read_documents
from sluice.integrations.session import upstream_session
from sluice.providers.model import model_from_env

app = typer.Typer(help="Work with flows.", no_args_is_help=True)


@app.command()
def run(
    flow: Annotated[
        str, typer.Argument(help="A flow id (the built-in one is 'default') or a file.")
    ],
    question: Annotated[str, typer.Option("--question", "-q", help="The user's message.")],
    flows: Annotated[
        Path | None, typer.Option(help="Folder of flow, integration and model files.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON event per line.")] = False,
) -> None:
    """Run FLOW for one question; tokens appear as they arrive."""
    try:
        definitions = load_definitions([flows]) if flows is not None else Definitions()
        chosen = _choose(flow, definitions)
    except ConfigError as exc:
        err().print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    ok = asyncio.run(_run(chosen, question, definitions, json))
    if not ok:
        raise typer.Exit(1)


def _choose(flow: str, definitions: Definitions) -> Flow:
    if flow in definitions.flows:
        return definitions.flows[flow]
    path = Path(flow)
    if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
        documents = [d for d in read_documents(path) if d.kind == "flow"]
        if len(documents) != 1:
            raise ConfigError(f"expected one flow in the file, found {len(documents)}", source=flow)
        found = parse_flow(documents[0].data, source=documents[0].source)
        definitions.flows[found.id] = found
        definitions.check()
        return found
    if flow == DEFAULT_FLOW_ID:
        return default_flow(has_model=model_from_env() is not None)
    known = ", ".join([DEFAULT_FLOW_ID, *definitions.flows])
    raise ConfigError(f"no flow {flow!r}: give a flow file or one of {known}")


async def _run(flow: Flow, question: str, definitions: Definitions, as_json: bool) -> bool:
    ok = True
    async with upstream_session() as session:
        services = FlowServices(
            session,
            integrations=definitions.integrations,
            models=definitions.models,
            default_model=model_from_env(),
        )
        async for event in run_flow(flow, RunInput(question), services):
            if as_json:
                sys.stdout.write(orjson.dumps(event.to_dict()).decode() + "\n")
                sys.stdout.flush()
            else:
                _show(event)
            ok = ok and not isinstance(event, Error)
    return ok


def _show(event: Event) -> None:
    if isinstance(event, Token):
        sys.stdout.write(event.text)
        sys.stdout.flush()
    elif isinstance(event, Status):
        err().print(f"[dim]… {event.text}[/dim]")
    elif isinstance(event, ToolStart):
        err().print(f"[cyan]→ {event.name}[/cyan] {orjson.dumps(event.input).decode()}")
    elif isinstance(event, ToolEnd):
        result = f"[red]{event.error}[/red]" if event.error else event.output[:200]
        err().print(f"[cyan]← {event.name}[/cyan] {result}")
    elif isinstance(event, Sources):
        sys.stdout.write("\n")
        for document in event.documents:
            title = document.metadata.get("title", "")
            err().print(f"[dim]source: {title} ({document.metadata.get('source', '')})[/dim]")
    elif isinstance(event, Error):
        err().print(f"\n[red]error ({event.code}):[/red] {event.message}")
