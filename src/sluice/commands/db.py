"""``sluice db upgrade``: bring the database schema up to date (the server does it on start)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from sluice.commands.console import err, out
from sluice.errors import ConfigError
from sluice.store.db import Database
from sluice.store.errors import StoreError
from sluice.store.url import DEFAULT_URL

app = typer.Typer(help="Manage the database.", no_args_is_help=True)

URLOption = Annotated[
    str,
    typer.Option(
        "--database-url",
        "--url",
        envvar="SLUICE_DATABASE_URL",
        help="Database URL: sqlite:///FILE or postgresql://USER@HOST/DB.",
    ),
]


@app.callback()
def database() -> None:
    """Manage the database (SQLite file or PostgreSQL)."""


@app.command()
def upgrade(url: URLOption = DEFAULT_URL) -> None:
    """Apply every migration not yet applied; safe to run again."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        database = Database.open(url)
    except ConfigError as exc:
        err().print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    try:
        revision = asyncio.run(_upgrade(database))
    except StoreError as exc:
        err().print(f"[red]error:[/red] {database.url}: {exc}")
        raise typer.Exit(1) from exc
    out().print(f"{database.url} is at revision {revision}")


async def _upgrade(database: Database) -> str:
    async with database:
        return await database.migrate()
