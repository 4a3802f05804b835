"""SQLite as cuibao opens it: each statement run whole on the event loop, BEGIN IMMEDIATE
sent with a transaction's first statement, single reads outside any transaction, and a
file locked by another process waited for in aiosqlite's thread, never on the loop. None
of it may loosen what a transaction guarantees."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from storage import models as m
from storage import sqlite_driver
from storage.database import Database
from storage.db import single_read
from storage.sqlite_driver import SWITCH, TESTED, one_trip_driver, versions_tested

NOW = datetime(2017, 1, 11, 2, 0, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cuibao.sqlite3"


@pytest.fixture
async def sqlite(path: Path) -> AsyncIterator[Database]:
    async with Database.open(f"sqlite:///{path}") as db:
        yield db


def write_locked(path: Path) -> bool:
    """Whether another process could start writing to the file right now."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    else:
        other.execute("ROLLBACK")
        return False
    finally:
        other.close()


def person(external_id: str) -> m.Person:
    return m.Person(external_id=external_id, display_name=external_id, created_at=NOW)


async def test_the_one_trip_driver_is_the_one_in_use(sqlite: Database) -> None:
    # A SQLAlchemy or aiosqlite upgrade outside the tested versions, or one whose internals
    # no longer fit, falls back to the stock driver (correct, but several trips per
    # statement): this fails then, so whoever raised the pin checks the driver and TESTED.
    assert versions_tested(), f"untested versions for storage/sqlite_driver.py: {TESTED}"
    assert one_trip_driver() is not None
    assert sqlite.engine.dialect.loaded_dbapi is one_trip_driver()


async def test_the_switch_falls_back_to_the_stock_driver_which_works_the_same(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SWITCH, "stock")
    one_trip_driver.cache_clear()
    try:
        async with Database.open(f"sqlite:///{path}") as db:
            assert db.engine.dialect.loaded_dbapi is not None
            assert not hasattr(db.engine.dialect.loaded_dbapi, "_one_trip")
            async with db.sessions.begin() as s:
                s.add(
                    m.Person(
                        platform="telegram", external_id="1", display_name="x", created_at=NOW
                    )
                )
            async with db.sessions() as s:
                assert await s.scalar(select(func.count()).select_from(m.Person)) == 1
            assert type(db.engine.dialect.loaded_dbapi).__name__ != "OneTripDBAPI"
    finally:
        one_trip_driver.cache_clear()


async def test_a_transaction_holds_the_write_lock_from_its_first_statement_to_its_end(
    sqlite: Database, path: Path
) -> None:
    async with sqlite.sessions.begin() as s:
        assert not write_locked(path)  # nothing sent yet
        await s.execute(select(m.Campaign.id))
        held = write_locked(path)

    assert held
    assert not write_locked(path)


async def test_a_single_read_takes_no_lock_and_refuses_to_write(
    sqlite: Database, path: Path
) -> None:
    async with sqlite.sessions() as s:
        await single_read(s)
        await s.execute(select(m.Campaign.id))
        held = write_locked(path)
    async with sqlite.sessions() as s:
        await single_read(s)
        with pytest.raises((RuntimeError, StatementError), match="single_read"):
            await s.execute(
                insert(m.Person).values(external_id="1", display_name="1", created_at=NOW)
            )

    assert not held
    async with sqlite.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(m.Person)) == 0


async def test_a_failed_statement_undoes_what_its_transaction_had_written(
    database: Database,
) -> None:
    with pytest.raises(IntegrityError):
        async with database.sessions.begin() as s:
            s.add(person("1"))
            await s.flush()
            s.add(person("1"))  # the same Telegram user twice
            await s.flush()

    async with database.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(m.Person)) == 0


async def test_new_ids_row_counts_and_many_rows_come_back_as_the_driver_reports_them(
    database: Database,
) -> None:
    async with database.sessions.begin() as s:
        first, second = person("1"), person("2")
        s.add_all([first, second])
        await s.flush()
        await s.execute(
            insert(m.Person),
            [{"external_id": str(i), "display_name": "", "created_at": NOW} for i in range(3, 9)],
        )
        renamed = await s.execute(
            update(m.Person).where(m.Person.id > first.id).values(display_name="x")
        )
        names = (await s.scalars(select(m.Person.external_id).order_by(m.Person.id))).all()

    assert second.id == first.id + 1
    assert renamed.rowcount == 7  # type: ignore[attr-defined]
    assert names == [str(i) for i in range(1, 9)]


async def test_statements_run_on_the_event_loop_thread_not_the_drivers(sqlite: Database) -> None:
    async with sqlite.sessions() as s:
        raw = (await s.connection()).sync_connection.connection.driver_connection  # type: ignore[union-attr]
        assert raw is not None
        raw._conn.create_function("thread_ident", 0, threading.get_ident)
        ran_on = await s.scalar(select(func.thread_ident()))

    assert ran_on == threading.get_ident()


async def ticks_while(work: asyncio.Task[object]) -> int:
    """How often the event loop got round to another task while `work` ran."""
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


def lock_from_another_process(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO people (platform, external_id, display_name, reachable, "
        "created_at) VALUES ('telegram', 'cli', 'cli', 1, '2017-01-11')"
    )
    return other


async def test_a_write_waits_for_another_process_lock_off_the_loop_and_then_commits(
    sqlite: Database, path: Path
) -> None:
    other = lock_from_another_process(path)

    async def write() -> None:
        async with sqlite.sessions.begin() as s:
            s.add(person("bot"))

    work: asyncio.Task[object] = asyncio.ensure_future(write())
    asyncio.get_running_loop().call_later(0.3, other.commit)
    ticks = await ticks_while(work)
    await work
    other.close()

    assert ticks >= 10  # the loop kept serving other tasks while the write waited
    async with sqlite.sessions() as s:
        assert set((await s.scalars(select(m.Person.external_id))).all()) == {"cli", "bot"}
        raw = (await s.connection()).sync_connection.connection.driver_connection  # type: ignore[union-attr]
        assert raw is not None
        assert raw._conn.execute("PRAGMA busy_timeout").fetchone() == (0,)


async def test_a_lock_held_past_the_busy_timeout_fails_the_write_and_changes_nothing(
    sqlite: Database, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "BUSY_TIMEOUT_MS", 200)
    other = lock_from_another_process(path)
    try:
        with pytest.raises(OperationalError, match="locked"):
            async with sqlite.sessions.begin() as s:
                s.add(person("bot"))
    finally:
        other.rollback()
        other.close()

    async with sqlite.sessions() as s:
        assert (await s.scalars(select(m.Person.external_id))).all() == []
    async with sqlite.sessions.begin() as s:  # the connection is fine afterwards
        s.add(person("bot"))


async def test_opening_a_database_another_process_has_locked_does_not_block_the_loop(
    path: Path,
) -> None:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x)")  # a fresh file, not in WAL mode yet
    other.execute("BEGIN")  # a reader: switching the file to WAL must wait for it
    other.execute("SELECT * FROM t").fetchall()

    async def open_and_read() -> None:
        async with Database.open(f"sqlite:///{path}", migrate=False) as db, db.sessions() as s:
            await s.execute(select(1))

    work: asyncio.Task[object] = asyncio.ensure_future(open_and_read())
    asyncio.get_running_loop().call_later(0.3, other.commit)
    ticks = await ticks_while(work)
    await work
    other.close()

    assert ticks >= 10
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
