"""``sluice db upgrade`` migrates a fresh SQLite file, and again without harm."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sluice.commands.db import app
from sluice.store.migrate import head_revision

TABLES = {"alembic_version", "api_keys", "chats", "definitions", "messages"}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def test_upgrade_builds_a_fresh_sqlite_file_and_is_idempotent(tmp_path: Path):
    path = tmp_path / "chat.db"
    for _ in range(2):
        result = CliRunner().invoke(app, ["upgrade", "--url", f"sqlite:///{path}"])
        assert result.exit_code == 0, result.output
        assert f"at revision {head_revision()}" in result.output
    assert _tables(path) == TABLES


def test_upgrade_defaults_to_sluice_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLUICE_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert _tables(tmp_path / "sluice.db") == TABLES


def test_upgrade_takes_database_url_like_the_other_commands(tmp_path: Path):
    path = tmp_path / "named.db"
    result = CliRunner().invoke(app, ["upgrade", "--database-url", f"sqlite:///{path}"])
    assert result.exit_code == 0, result.output
    assert _tables(path) == TABLES


def test_upgrade_reads_the_url_from_the_environment(tmp_path: Path):
    path = tmp_path / "env.db"
    result = CliRunner().invoke(app, ["upgrade"], env={"SLUICE_DATABASE_URL": f"sqlite:///{path}"})
    assert result.exit_code == 0, result.output
    assert _tables(path) == TABLES


def test_upgrade_refuses_a_bad_url():
    result = CliRunner().invoke(app, ["upgrade", "--url", "mysql://u@db/x"])
    assert result.exit_code == 2
    assert "expected a sqlite or postgresql URL" in result.output
