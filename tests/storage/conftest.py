"""Storage fixtures: a real, migrated database on every configured backend, one per test.

SQLite always runs (a fresh file in `tmp_path`). PostgreSQL runs only when
`CUIBAO_TEST_POSTGRES_URL` is set (e.g. ``postgresql://postgres@127.0.0.1:5432/test``);
otherwise its parameter is not generated at all. Each PostgreSQL test gets a schema of
its own (``t_<uuid>``, the connection's only `search_path` entry, so Alembic's version
table lands there too) that is dropped afterwards: tests run in any order, in parallel.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from storage.database import Database
from storage.db import create_engine

PG_ENV = "CUIBAO_TEST_POSTGRES_URL"
PG_URL = os.environ.get(PG_ENV) or None
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]

# 2017-01-11 10:00 in Beijing: the middle of the Daguan campaign (Dec 2016 - Feb 2017).
NOW = datetime(2017, 1, 11, 2, 0, tzinfo=UTC)

# Not UTC on purpose: instants must survive a server session in another zone.
PG_SESSION_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Target:
    """Where one test's database lives: a plain URL plus the options that isolate it."""

    backend: str
    url: str
    schema: str | None = None  # PostgreSQL only

    def engine_kwargs(self) -> dict[str, Any]:
        if self.schema is None:
            return {}
        settings = {"search_path": self.schema, "timezone": PG_SESSION_TIMEZONE}
        return {"connect_args": {"server_settings": settings}}

    def open(self, migrate: bool = True) -> AbstractAsyncContextManager[Database]:
        return Database.open(self.url, migrate=migrate, **self.engine_kwargs())

    def engine(self, **kwargs: Any) -> AsyncEngine:
        """A bare engine on this target; the caller disposes it."""
        return create_engine(self.url, **self.engine_kwargs(), **kwargs)


WRITES = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE", "REPLACE")


@contextmanager
def recorded_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs (upper-cased)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.strip().upper())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def writes(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql.startswith(WRITES)]


@asynccontextmanager
async def pg_schema(url: str) -> AsyncIterator[str]:
    """A fresh, empty schema on the server at `url`, dropped (with its contents) afterwards."""
    name = f"t_{uuid4().hex}"
    admin = create_engine(url, poolclass=NullPool)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{name}"'))
        try:
            yield name
        finally:
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    finally:
        await admin.dispose()


@pytest.fixture(params=BACKENDS)
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    """An empty (not yet migrated) database of each backend."""
    if request.param == "sqlite":
        yield Target("sqlite", f"sqlite:///{tmp_path / 'cuibao.db'}")
        return
    assert PG_URL is not None
    async with pg_schema(PG_URL) as schema:
        yield Target("postgresql", PG_URL, schema)


@pytest.fixture
async def database(target: Target) -> AsyncIterator[Database]:
    """A migrated `Database` on each backend; its engine is disposed afterwards."""
    async with target.open() as db:
        yield db


@pytest.fixture
async def pg_url() -> AsyncIterator[Target]:
    """A fresh PostgreSQL schema for tests that need several engines on the same one
    (`pg_url.url` plus `pg_url.engine_kwargs()`, or `pg_url.open()`). Tests using it are
    deselected, not skipped, when no PostgreSQL URL is configured."""
    assert PG_URL is not None
    async with pg_schema(PG_URL) as schema:
        yield Target("postgresql", PG_URL, schema)


@pytest.fixture
def now() -> datetime:
    """A fixed aware UTC instant in the middle of the Daguan campaign."""
    return NOW


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL is not None:
        return
    here = Path(__file__).parent
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        needs_pg = "pg_url" in getattr(item, "fixturenames", ())
        (dropped if needs_pg and here in item.path.parents else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
