"""Database URLs get their async driver; anything but SQLite or PostgreSQL is refused."""

from __future__ import annotations

import pytest

from sluice.errors import ConfigError
from sluice.store import DEFAULT_URL, Database
from sluice.store.url import database_url, display_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (DEFAULT_URL, "sqlite+aiosqlite:///./sluice.db"),
        ("sqlite:///data/chat.db", "sqlite+aiosqlite:///data/chat.db"),
        ("sqlite+pysqlite:////abs/chat.db", "sqlite+aiosqlite:////abs/chat.db"),
        ("postgresql://u:p@db:5432/sluice", "postgresql+asyncpg://u:p@db:5432/sluice"),
        ("postgres://u@db/sluice", "postgresql+asyncpg://u@db/sluice"),
        ("postgresql+psycopg2://u@db/sluice", "postgresql+asyncpg://u@db/sluice"),
        ("postgresql+asyncpg://u@db/sluice", "postgresql+asyncpg://u@db/sluice"),
        (
            "postgresql://u@db/sluice?sslmode=require",
            "postgresql+asyncpg://u@db/sluice?ssl=require",
        ),
    ],
)
def test_urls_get_the_async_driver(given: str, expected: str):
    assert database_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize("given", ["mysql://u@db/x", "not a url", ""])
def test_other_urls_are_a_config_error(given: str):
    with pytest.raises(ConfigError, match="expected a"):
        database_url(given)


def test_display_hides_the_password():
    shown = display_url(database_url("postgresql://user:hunter2@db/sluice"))
    assert "hunter2" not in shown
    assert shown.startswith("postgresql+asyncpg://user:")


def test_open_refuses_a_bad_url():
    with pytest.raises(ConfigError):
        Database.open("mysql://u@db/x")
