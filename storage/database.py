"""The database handle the app holds: engine, sessions, schema kept at the latest revision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import create_engine, sessionmaker
from storage.migrate import current_revision, upgrade

CONNECT_TIMEOUT_SECONDS = 10  # a PostgreSQL host that drops packets: say so, don't hang


class DatabaseUnavailable(Exception):
    """The database named by the URL cannot be reached or opened (server down, wrong
    host, port or password, an unwritable SQLite file). `url` has no password in it."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"{url}: {detail}")
        self.url = url
        self.detail = detail


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    @asynccontextmanager
    async def open(
        cls, url: str, migrate: bool = True, **engine_kwargs: Any
    ) -> AsyncIterator[Database]:
        """Connect and (by default) migrate: a first run creates the SQLite file and schema.
        `engine_kwargs` go to `create_async_engine` (e.g. `connect_args`)."""
        if make_url(url).get_backend_name() == "postgresql":
            engine_kwargs = {"connect_args": {"timeout": CONNECT_TIMEOUT_SECONDS}, **engine_kwargs}
        engine = create_engine(url, **engine_kwargs)
        try:
            await _reach(engine, url)
            if migrate:
                await upgrade(engine)
            yield cls(engine, sessionmaker(engine))
        finally:
            await engine.dispose()

    @property
    def shared(self) -> bool:
        """Can several processes share it (PostgreSQL), rather than one (SQLite)?"""
        return self.engine.dialect.name == "postgresql"

    async def revision(self) -> str | None:
        return await current_revision(self.engine)


async def _reach(engine: AsyncEngine, url: str) -> None:
    """Connect once, so that a database out of reach is one exception that says why, not
    whatever the first query happens to raise."""
    try:
        async with engine.connect():
            pass
    except (OSError, SQLAlchemyError) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        shown = make_url(url).render_as_string(hide_password=True)
        raise DatabaseUnavailable(shown, detail) from exc
