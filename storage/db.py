"""Engines and sessions: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).with_name("migrations")
# How long a write waits for another process (the CLI beside the bot) to release SQLite's
# write lock before it fails with "database is locked".
BUSY_TIMEOUT_MS = 10_000


def async_url(url: str) -> URL:
    """Pick the asyncio driver for a plain URL (`sqlite:///x.db`, `postgresql://…`)."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
              "postgres": "postgresql+asyncpg"}.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


# The drivers cuibao runs on: SQLite through aiosqlite, PostgreSQL through asyncpg.
SUPPORTED_DRIVERS = frozenset({"sqlite", "sqlite+aiosqlite", "postgresql", "postgres",
                               "postgresql+asyncpg"})


def url_problem(url: str) -> str | None:
    """Why `url` cannot be used, as a code ("database_plain_path": a file path where a URL
    belongs; "database_unsupported": another database, e.g. mysql://), or None."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "database_plain_path"
    return None if parsed.drivername in SUPPORTED_DRIVERS else "database_unsupported"


def missing_sqlite_folder(url: str) -> Path | None:
    """The folder a SQLite URL's file would be in, when that folder does not exist (it is
    not created behind the user's back: a typo in the path is the usual cause)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    folder = Path(parsed.database).parent
    return None if folder.is_dir() else folder


def missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names when it does not exist yet (opening would create it);
    None for an existing file, memory or another database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def create_engine(url: str, *, reader: bool = False, **kwargs: Any) -> AsyncEngine:
    """An engine for `url`; a `reader` engine's sessions each read one consistent snapshot
    without taking SQLite's write lock (a worker building an export beside the bot)."""
    target = async_url(url)
    if target.get_backend_name() != "sqlite":
        if reader:
            kwargs = {"isolation_level": "REPEATABLE READ", **kwargs}
        return create_async_engine(target, pool_pre_ping=True, **kwargs)
    if reader:
        kwargs = {"execution_options": {SNAPSHOT: True}, **kwargs}
    # The pool's own reset rolls back every connection it gets back, even right after a
    # commit: on aiosqlite that is one more trip to its thread per transaction. Ours rolls
    # back only what is still open (see _sqlite_reset).
    kwargs = {"pool_reset_on_return": None, **kwargs}
    if not target.database or target.database == ":memory:":
        return _sqlite_engine(target, kwargs)
    # One connection per process: SQLite has one writer at a time anyway, and a
    # read-then-write transaction on a second connection fails at once with "database is
    # locked" instead of waiting. Sessions queue for it instead.
    return _sqlite_engine(target, {"pool_size": 1, "max_overflow": 0, "pool_timeout": 120,
                                   **kwargs})


def _sqlite_engine(target: URL, kwargs: dict[str, Any]) -> AsyncEngine:
    if _ONE_TRIP is not None and target.get_driver_name() == "aiosqlite":
        kwargs = {"module": _ONE_TRIP, **kwargs}
    engine = create_async_engine(target, **kwargs)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    event.listen(engine.sync_engine, "reset", _sqlite_reset)
    event.listen(engine.sync_engine, "before_cursor_execute", _reads_only_if_single_read)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the bot read while a submission commits; the busy timeout rides out
    # the short write locks of a second process (the CLI) instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # No waiting on the event loop: a statement that finds the file locked by another
    # process is run again in the driver's thread, which waits BUSY_TIMEOUT_MS (see
    # _one_trip_module). The stock driver waits in its thread anyway.
    busy = 0 if hasattr(dbapi_connection, "begin_with_next_statement") else BUSY_TIMEOUT_MS
    cursor.execute(f"PRAGMA busy_timeout={busy}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # The sqlite3 module opens transactions lazily and never around DDL, so a migration
    # that failed halfway would leave half a schema. Take over: autocommit at the driver,
    # and an explicit BEGIN from SQLAlchemy for every transaction (see _sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    options = conn.get_execution_options()
    if options.get(SINGLE_READ):
        return  # autocommit: one SELECT is a consistent snapshot of its own
    # BEGIN IMMEDIATE takes the write lock up front, so another process writing the same
    # file (the CLI beside the bot) makes us wait on busy_timeout, never fail halfway.
    # A reader's plain BEGIN takes no lock: in WAL mode it never blocks the writer.
    # The one-trip driver sends it with the transaction's first statement.
    begin = "BEGIN" if options.get(SNAPSHOT) else "BEGIN IMMEDIATE"
    adapted = conn.connection.dbapi_connection
    if hasattr(adapted, "begin_with_next_statement"):
        adapted.begin_with_next_statement(begin)
    else:
        conn.exec_driver_sql(begin)


def _reads_only_if_single_read(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    # Without a transaction each write would commit on its own: refuse rather than do that.
    if conn.get_execution_options().get(SINGLE_READ) and not statement.lstrip()[:6].upper() \
            .startswith("SELECT"):
        raise RuntimeError(f"a write in a single_read session: {statement[:60]!r}")


def _sqlite_reset(dbapi_connection: Any, record: Any, state: Any) -> None:
    # The driver knows whether a transaction is still open (a session closed without
    # commit, an error halfway): only then is there anything to roll back.
    if hasattr(dbapi_connection, "begin_with_next_statement"):
        dbapi_connection.begin_with_next_statement(None)
    if not state.terminate_only and record.driver_connection.in_transaction:
        dbapi_connection.rollback()


# A unit of work that reads with a single statement needs no transaction around it: on
# SQLite it then neither takes the write lock nor has anything to end afterwards.
SINGLE_READ = "cuibao_single_read"
# Set on a reader engine (create_engine(reader=True)): transactions read, never write.
SNAPSHOT = "cuibao_snapshot"


async def single_read(session: AsyncSession) -> None:
    """Mark a fresh session (before its first statement) as one that runs exactly one
    SELECT and writes nothing."""
    await session.connection(execution_options={SINGLE_READ: True})


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# ---- aiosqlite on the event loop, its thread only to wait ---------------------------
# aiosqlite runs each connection in a thread of its own, and SQLAlchemy's cursor for it
# goes there four times per SELECT (open, execute, fetch, close), each time waiting for
# the event loop to come back to it. Under load that wait is a whole loop cycle, and with
# one connection per process the write lock is held across every one of them: the chat
# benchmark found the connection busy 97% of the time, mostly waiting for hand-offs.
#
# This driver runs a statement with its whole result (begin, execute, fetch, close) in one
# step, on the event loop itself: a statement of the bot's takes tens of microseconds,
# far less than a hand-off to a thread and back. SQLite never waits on the loop: the
# connection's busy timeout is 0, so a statement that finds the file locked by another
# process (only BEGIN IMMEDIATE or a read outside a transaction can: once a transaction
# holds the write lock, WAL lets nothing else block it) fails at once, changed nothing,
# and is run again in aiosqlite's thread with the real busy timeout. The loop is blocked
# only for as long as SQLite computes, as it is by any other CPU work of a handler (and
# for a WAL auto-checkpoint's fsync when a commit triggers one: milliseconds).
#
# A streamed query (AsyncConnection.stream, the export) keeps SQLAlchemy's server-side
# cursor, which fetches in aiosqlite's thread; the session holding the connection awaits
# each fetch, so the two threads take turns. Only a task cancelled mid-fetch could overlap
# its rollback with that fetch; SQLite as Python ships it is built serialized
# (sqlite3.threadsafety == 3), so the fetch then fails instead of corrupting anything.
#
# It builds on SQLAlchemy's own aiosqlite adapter (2.1's connectors.asyncio) and on
# aiosqlite's queue, as that adapter does; where either is not what it expects, the stock
# driver is used.


def _one_trip(conn: Any, begin: str | None, operation: str, parameters: Any, many: bool
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


def _waiting_trip(conn: Any, begin: str | None, operation: str, parameters: Any,
                  many: bool) -> tuple[Any, ...]:
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
    return isinstance(error, sqlite3.OperationalError) and code is not None \
        and code & 0xFF == sqlite3.SQLITE_BUSY


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
    slots = {name for k in AsyncAdapt_aiosqlite_cursor.__mro__
             for name in getattr(k, "__slots__", ())}
    if not {"_adapt_connection", "_connection", "_cursor", "_rows",
            "_soft_closed_memoized"} <= slots:
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
                    found = await connection._execute(_waiting_trip, raw, begin, operation,
                                                      parameters, many)
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


_ONE_TRIP = _one_trip_module()
