"""Alembic, driven programmatically: the scripts ship inside the package, no ``alembic.ini``.

These functions are synchronous and take a sync ``Connection``: ``Database`` runs them
through ``AsyncConnection.run_sync``. Alembic is imported only when a migration runs: a
server starting on a database already at ``HEAD_REVISION`` never loads it (8 MB of its
resident memory). ``tests/store/test_migrations.py`` checks ``HEAD_REVISION`` against the
scripts. A new revision is written the same way, e.g.
``command.revision(alembic_config(connection), "add x", autogenerate=True)``, then reviewed;
``tests/store/test_migrations.py`` fails when the models and the migrations disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "sluice.store:migrations"
HEAD_REVISION = "0001"
"""The newest script's revision: bump it with every new migration."""


def stamped_revision(connection: Connection) -> str | None:
    """The revision recorded in ``alembic_version``, read without Alembic; ``None`` when
    the database has never been migrated."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def alembic_config(connection: Connection | None = None) -> Config:
    """A config pointing at the shipped scripts; ``env.py`` migrates ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; ``None`` for an empty database."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest script's revision, as Alembic reads the scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("expected a migration in sluice/store/migrations/versions, got none")
    return head
