"""``sluice keys``: create, list and revoke API keys (stored hashed; shown once)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from sluice.api.settings import Settings
from sluice.commands.console import out
from sluice.store import Database

app = typer.Typer(help="Manage API keys.", no_args_is_help=True)

URLOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Defaults to SLUICE_DATABASE_URL or ./sluice.db."),
]


def _url(url: str | None) -> str:
    return url or Settings.from_env().database_url


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Who the key is for.")], database_url: URLOption = None
) -> None:
    """Create a key and print it once: it cannot be shown again."""

    async def run() -> str:
        async with Database.open(_url(database_url)) as db:
            await db.migrate()
            return await db.keys.create_key(name)

    typer.echo(asyncio.run(run()))


@app.command("list")
def list_keys(database_url: URLOption = None) -> None:
    """The keys' ids, names and whether they are revoked (never the keys)."""

    async def run() -> None:
        async with Database.open(_url(database_url)) as db:
            await db.migrate()
            for key in await db.keys.list_keys():
                state = "revoked" if key.is_revoked else "active"
                out().print(f"{key.id}  {key.name}  {state}  {key.created_at:%Y-%m-%d}")

    asyncio.run(run())


@app.command()
def revoke(key_id: str, database_url: URLOption = None) -> None:
    """Revoke a key by its id (see ``sluice keys list``)."""

    async def run() -> bool:
        async with Database.open(_url(database_url)) as db:
            await db.migrate()
            return await db.keys.revoke_key(key_id)

    if not asyncio.run(run()):
        typer.echo(f"no key {key_id!r}", err=True)
        raise typer.Exit(1)
