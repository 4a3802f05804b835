"""Engines and sessions: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.sqlite_driver import BUSY_TIMEOUT_MS, one_trip_driver

MIGRATIONS = Path(__file__).with_name("migrations")


def async_url(url: str) -> URL:
    """Pick the asyncio driver for a plain URL (`sqlite:///x.db`, `postgresql://…`)."""
    parsed = make_url(url)
    driver = {
        "sqlite": "sqlite+aiosqlite",
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
    }.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


# The drivers cuibao runs on: SQLite through aiosqlite, PostgreSQL through asyncpg.
SUPPORTED_DRIVERS = frozenset(
    {"sqlite", "sqlite+aiosqlite", "postgresql", "postgres", "postgresql+asyncpg"}
)


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
    return _sqlite_engine(
        target, {"pool_size": 1, "max_overflow": 0, "pool_timeout": 120, **kwargs}
    )


def _sqlite_engine(target: URL, kwargs: dict[str, Any]) -> AsyncEngine:
    one_trip = one_trip_driver()
    if one_trip is not None and target.get_driver_name() == "aiosqlite":
        kwargs = {"module": one_trip, **kwargs}
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
    if conn.get_execution_options().get(SINGLE_READ) and not statement.lstrip()[
        :6
    ].upper().startswith("SELECT"):
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


def upsert(s: AsyncSession, table: Any) -> Any:
    """An INSERT with the ON CONFLICT clauses of the session's backend (PostgreSQL's or
    SQLite's): `.on_conflict_do_nothing()`, `.on_conflict_do_update(...)`."""
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
