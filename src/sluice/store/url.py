"""Database URLs: the SQLite default, and the rewrite of plain URLs to the async drivers."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sluice.errors import ConfigError

DEFAULT_URL = "sqlite+aiosqlite:///./sluice.db"
"""A SQLite file in the working directory."""

_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
_SYNC_ONLY = {"pysqlite", "psycopg2", "pg8000"}


def database_url(text: str | URL) -> URL:
    """Parse ``text`` and pick the async driver: ``postgresql://`` → ``postgresql+asyncpg://``.

    ``postgres://`` (Heroku's spelling) is read as ``postgresql://``; a sync-only driver is
    swapped for the async one; libpq's ``sslmode`` becomes asyncpg's ``ssl``. Raises
    ``ConfigError`` naming the problem for anything that is not SQLite or PostgreSQL.
    """
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise ConfigError("expected a database URL such as sqlite:///sluice.db") from exc
    backend, _, driver = url.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    if backend not in _ASYNC_DRIVERS:
        raise ConfigError(f"expected a sqlite or postgresql URL, got {backend}://", field="url")
    if not driver or driver in _SYNC_ONLY:
        driver = _ASYNC_DRIVERS[backend]
    url = url.set(drivername=f"{backend}+{driver}")
    if driver == "asyncpg" and "sslmode" in url.query:
        query = dict(url.query)
        query["ssl"] = query.pop("sslmode")
        url = url.set(query=query)
    return url


def display_url(url: URL) -> str:
    """The URL with its password hidden, for logs and messages."""
    return url.render_as_string(hide_password=True)
