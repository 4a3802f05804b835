"""SQLite through aiosqlite, each statement run whole on the event loop.

aiosqlite runs each connection in a thread of its own, and SQLAlchemy's cursor for it
goes there four times per SELECT (open, execute, fetch, close), each time waiting for
the event loop to come back to it. Under load that wait is a whole loop cycle, and with
one connection per process the write lock is held across every one of them: the chat
benchmark found the connection busy 97% of the time, mostly waiting for hand-offs.

This driver runs a statement with its whole result (begin, execute, fetch, close) in one
step, on the event loop itself: a statement of the bot's takes tens of microseconds,
far less than a hand-off to a thread and back. SQLite never waits on the loop: the
connection's busy timeout is 0, so a statement that finds the file locked by another
process (only BEGIN IMMEDIATE or a read outside a transaction can: once a transaction
holds the write lock, WAL lets nothing else block it) fails at once, changed nothing,
and is run again in aiosqlite's thread with the real busy timeout. The loop is blocked
only for as long as SQLite computes, as it is by any other CPU work of a handler (and
for a WAL auto-checkpoint's fsync when a commit triggers one: milliseconds).

A streamed query (AsyncConnection.stream, the export) keeps SQLAlchemy's server-side
cursor, which fetches in aiosqlite's thread; the session holding the connection awaits
each fetch, so the two threads take turns. Only a task cancelled mid-fetch could overlap
its rollback with that fetch; SQLite as Python ships it is built serialized
(sqlite3.threadsafety == 3), so the fetch then fails instead of corrupting anything.

It builds on SQLAlchemy's own aiosqlite adapter (2.1's connectors.asyncio) and on
aiosqlite's queue, as that adapter does; where either is not what it expects, or the
versions are not the tested ones (TESTED), the stock driver is used.
"""

from __future__ import annotations

import collections
import logging
import os
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, cast


def _one_trip(
    conn: Any, begin: str | None, operation: str, parameters: Any, many: bool
) -> tuple[Any, ...]:
    """Begin the transaction if one is pending, run a statement, read all its rows, close
    the cursor."""
    if begin is not None:
        conn.execute(begin)
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _waiting_trip(
    conn: Any, begin: str | None, operation: str, parameters: Any, many: bool
) -> tuple[Any, ...]:
    """In aiosqlite's thread: the same, waiting up to BUSY_TIMEOUT_MS for the lock."""
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        return _one_trip(conn, begin, operation, parameters, many)
    finally:
        conn.execute("PRAGMA busy_timeout=0")


def _locked(error: BaseException) -> bool:
    import sqlite3

    # SQLITE_BUSY and its extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, BUSY_TIMEOUT).
    code = getattr(error, "sqlite_errorcode", None)
    return (
        isinstance(error, sqlite3.OperationalError)
        and code is not None
        and code & 0xFF == sqlite3.SQLITE_BUSY
    )


def _one_trip_module() -> Any:
    try:
        import sqlite3

        import aiosqlite
        from sqlalchemy.dialects.sqlite.aiosqlite import (
            AsyncAdapt_aiosqlite_connection,
            AsyncAdapt_aiosqlite_cursor,
            AsyncAdapt_aiosqlite_dbapi,
        )
        from sqlalchemy.util import EMPTY_DICT
        from sqlalchemy.util.concurrency import await_
    except ImportError:  # pragma: no cover - another SQLAlchemy than the one we know
        return None
    if not all(hasattr(aiosqlite.Connection, name) for name in ("_execute", "_conn")):
        return None  # pragma: no cover - another aiosqlite
    slots = {
        name for k in AsyncAdapt_aiosqlite_cursor.__mro__ for name in getattr(k, "__slots__", ())
    }
    if (
        not {"_adapt_connection", "_connection", "_cursor", "_rows", "_soft_closed_memoized"}
        <= slots
    ):
        return None  # pragma: no cover - SQLAlchemy 2.0's adapter is built otherwise

    class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
        __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

        def __init__(self, adapt_connection: Any) -> None:
            # No sqlite3 cursor on this side: each statement opens and closes its own.
            self._adapt_connection = adapt_connection
            self._connection = adapt_connection._connection
            self._cursor = cast(Any, None)
            self._rows = collections.deque()
            self._soft_closed_memoized = EMPTY_DICT
            self._description: Any = None
            self._rowcount = -1
            self._lastrowid: Any = None
            self._arraysize = 1

        @property
        def description(self) -> Any:
            return self._description

        @property
        def rowcount(self) -> int:
            return self._rowcount

        @property
        def lastrowid(self) -> Any:
            return self._lastrowid

        @property
        def arraysize(self) -> int:
            return self._arraysize

        @arraysize.setter
        def arraysize(self, value: int) -> None:
            self._arraysize = value

        async def _async_soft_close(self) -> None:
            pass  # nothing is left open in the thread

        def execute(self, operation: Any, parameters: Any = None) -> Any:
            try:
                return await_(self._trip(operation, parameters, False))
            except Exception as error:
                self._adapt_connection._handle_exception(error)

        def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
            try:
                return await_(self._trip(operation, seq_of_parameters, True))
            except Exception as error:
                self._adapt_connection._handle_exception(error)

        async def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
            connection, adapted = self._connection, cast(Any, self._adapt_connection)
            begin, adapted._pending_begin = adapted._pending_begin, None
            raw = connection._conn
            try:
                found = _one_trip(raw, begin, operation, parameters, many)
            except Exception as error:
                # Locked by another process before this trip changed anything (no
                # transaction of ours is open): wait for the lock in the driver's thread.
                if not _locked(error) or raw.in_transaction:
                    raise
                async with adapted._execute_mutex:
                    found = await connection._execute(
                        _waiting_trip, raw, begin, operation, parameters, many
                    )
            self._description, rows, self._rowcount, self._lastrowid = found
            self._rows = collections.deque(rows)

    class OneTripConnection(AsyncAdapt_aiosqlite_connection):
        __slots__ = ("_pending_begin",)
        _cursor_cls = OneTripCursor

        def __init__(self, dbapi: Any, connection: Any) -> None:
            super().__init__(dbapi, connection)
            self._pending_begin: str | None = None

        def begin_with_next_statement(self, begin: str | None) -> None:
            """Send `begin` in the same trip as the next statement (None: forget it)."""
            self._pending_begin = begin

        # Nothing to end when no transaction is open at the driver (it never began, or it
        # was a single read's autocommit SELECT): no trip to the thread for a no-op.
        # In WAL mode neither can wait for another connection: both run on the loop.
        def commit(self) -> None:
            self._pending_begin = None
            if self._connection.in_transaction:
                self._run(self._connection._conn.commit)

        def rollback(self) -> None:
            self._pending_begin = None
            if self._connection.in_transaction:
                self._run(self._connection._conn.rollback)

        def _run(self, end: Any) -> None:
            try:
                end()
            except Exception as error:
                self._handle_exception(error)

    class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
        def connect(self, *arg: Any, **kw: Any) -> Any:
            # The connection is opened in aiosqlite's thread and used on the loop's (see
            # _trip). timeout=0: the PRAGMAs run on connect, before busy_timeout is set, must
            # not wait on the loop either; a locked file sends them to the thread too.
            stock = super().connect(*arg, **{"check_same_thread": False, "timeout": 0, **kw})
            return OneTripConnection(self, stock._connection)

    return OneTripDBAPI(aiosqlite, sqlite3)


# The versions this driver was written and tested against: it subclasses SQLAlchemy's
# aiosqlite adapter and reaches into aiosqlite's connection, neither of them public API.
# Outside these it is not used (the stock driver is, with a warning), and
# tests/storage/test_sqlite_driver.py fails so that whoever raised a pin looks here.
TESTED = {"sqlalchemy": ("2.1",), "aiosqlite": ("0.20", "0.21", "0.22")}
# CUIBAO_SQLITE_DRIVER=stock turns it off (plain aiosqlite, a thread trip per step).
SWITCH = "CUIBAO_SQLITE_DRIVER"
# How long a write waits for another process (the CLI beside the bot) to release SQLite's
# write lock before it fails with "database is locked".
BUSY_TIMEOUT_MS = 10_000

log = logging.getLogger(__name__)


def versions_tested() -> bool:
    """Whether the installed SQLAlchemy and aiosqlite are ones this driver was tested with."""
    for package, series in TESTED.items():
        try:
            installed = version(package)
        except PackageNotFoundError:
            return False
        if not any(installed == s or installed.startswith(s + ".") for s in series):
            return False
    return True


@cache
def one_trip_driver() -> Any:
    """The DBAPI module to give SQLAlchemy for aiosqlite URLs; None for the stock one."""
    if os.environ.get(SWITCH, "").strip().lower() == "stock":
        return None
    if not versions_tested():
        log.warning(
            "SQLite: SQLAlchemy %s / aiosqlite %s are not the versions the on-loop "
            "driver was tested with (%s); using the stock aiosqlite driver",
            _installed("sqlalchemy"),
            _installed("aiosqlite"),
            TESTED,
        )
        return None
    return _one_trip_module()


def _installed(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "none"
