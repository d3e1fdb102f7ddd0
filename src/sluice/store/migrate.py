"""Alembic, driven programmatically: the scripts ship inside the package, no ``alembic.ini``.

These functions are synchronous and take a sync ``Connection``: ``Database`` runs them
through ``AsyncConnection.run_sync``. A new revision is written the same way, e.g.
``command.revision(alembic_config(connection), "add x", autogenerate=True)``, then reviewed;
``tests/store/test_migrations.py`` fails when the models and the migrations disagree.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

SCRIPT_LOCATION = "sluice.store:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """A config pointing at the shipped scripts; ``env.py`` migrates ``connection``."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; ``None`` for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("expected a migration in sluice/store/migrations/versions, got none")
    return head
