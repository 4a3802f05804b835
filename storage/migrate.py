"""Alembic, driven from code so `cuibao db upgrade` needs no alembic.ini beside it."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import MIGRATIONS


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` in one transaction, all or nothing, on both backends
    (SQLite runs DDL transactionally once storage.db takes over its BEGIN)."""
    async with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # Several bot processes may start at once against one database: one
            # migrates, the others wait for the lock and then find nothing to do.
            await conn.execute(text("SELECT pg_advisory_xact_lock(7302105)"))
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
