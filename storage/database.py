"""The database handle the app holds: engine, sessions, schema kept at the latest revision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import create_engine, sessionmaker
from storage.migrate import current_revision, upgrade


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str, migrate: bool = True, **engine_kwargs: Any
                   ) -> AsyncIterator[Database]:
        """Connect and (by default) migrate: a first run creates the SQLite file and schema.
        `engine_kwargs` go to `create_async_engine` (e.g. `connect_args`)."""
        engine = create_engine(url, **engine_kwargs)
        try:
            if migrate:
                await upgrade(engine)
            yield cls(engine, sessionmaker(engine))
        finally:
            await engine.dispose()

    async def revision(self) -> str | None:
        return await current_revision(self.engine)
