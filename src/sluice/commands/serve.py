"""``sluice serve``: the server on uvicorn (uvloop and httptools when installed)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from sluice.api.app import create_app
from sluice.api.protocol import http_protocol
from sluice.api.settings import Settings
from sluice.errors import ConfigError


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind [SLUICE_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [SLUICE_PORT].")] = None,
    flows: Annotated[
        Path | None,
        typer.Option(help="Folder of flow, integration and model files [SLUICE_FLOWS]."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="sqlite:///FILE or postgresql://… [SLUICE_DATABASE_URL].")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning…")] = "info",
) -> None:
    """Serve the prediction, chat and runs APIs (docs at /docs)."""
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env(host=host, port=port, flows=flows, database_url=database_url)
        app = create_app(settings)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    address = f"http://{settings.host}:{settings.port}"
    typer.echo(f"Sluice on {address}  (web chat: {address}/, API docs: {address}/docs)")
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        http=http_protocol(),
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
