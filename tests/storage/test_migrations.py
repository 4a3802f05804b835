"""The schema comes from the migrations, matches the models, and keeps instants in UTC."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, func, inspect, select, text
from sqlalchemy.exc import StatementError

from storage import models as m
from storage.database import Database
from storage.migrate import alembic_config, current_revision, upgrade
from tests.storage.conftest import Target, recorded_statements, writes

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
TABLES = set(m.Base.metadata.tables)
BEIJING = timezone(timedelta(hours=8))


def _table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _person(external_id: str, created_at: datetime) -> m.Person:
    return m.Person(
        platform="telegram", external_id=external_id, display_name="", created_at=created_at
    )


async def test_upgrade_creates_every_table_of_the_models(database: Database) -> None:
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(_table_names)
    assert tables == TABLES | {"alembic_version"}
    assert await database.revision() == HEAD


async def test_on_postgresql_the_tables_and_alembic_version_land_in_the_test_schema(
    pg_url: Target,
) -> None:
    async with pg_url.open() as db, db.engine.connect() as conn:
        assert await conn.scalar(text("SELECT current_schema()")) == pg_url.schema
        here = (
            (
                await conn.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
                    ),
                    {"s": pg_url.schema},
                )
            )
            .scalars()
            .all()
        )
    assert set(here) == TABLES | {"alembic_version"}


async def test_running_the_upgrade_twice_changes_nothing(
    database: Database, now: datetime
) -> None:
    async with database.sessions.begin() as s:
        s.add(_person("42", now))
    with recorded_statements(database.engine) as sent:
        await upgrade(database.engine)
    assert writes(sent) == []
    assert sent  # the listener did see Alembic's look at the version table
    assert await database.revision() == HEAD
    async with database.engine.connect() as conn:
        assert await conn.run_sync(_table_names) == TABLES | {"alembic_version"}
        assert await conn.scalar(select(func.count()).select_from(m.Person)) == 1
        assert await conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1


async def test_upgrade_on_an_empty_database_then_downgrade_to_base_and_back(
    target: Target,
) -> None:
    async with target.open(migrate=False) as db:
        assert await db.revision() is None
        await upgrade(db.engine)
        assert await db.revision() == HEAD
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_table_names) <= {"alembic_version"}
        assert await db.revision() is None
        await upgrade(db.engine)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_table_names) == TABLES | {"alembic_version"}


def _autogenerate_diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "render_as_batch": conn.dialect.name == "sqlite",
        },
    )
    return list(compare_metadata(context, m.Base.metadata))


async def test_autogenerate_finds_no_difference_between_models_and_migrations(
    database: Database,
) -> None:
    async with database.engine.connect() as conn:
        diff = await conn.run_sync(_autogenerate_diff)
    assert diff == []


async def test_an_aware_instant_comes_back_aware_in_utc_and_equal(database: Database) -> None:
    beijing = datetime(2017, 1, 11, 10, 0, 0, 123456, tzinfo=BEIJING)
    utc = datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)
    async with database.sessions.begin() as s:
        s.add(
            m.Campaign(
                code="c",
                name="n",
                office="o",
                coordinator="k",
                timezone="Asia/Shanghai",
                start=date(2016, 12, 1),
                end=None,
                current_version=1,
                created_at=beijing,
                updated_at=utc,
            )
        )
    async with database.sessions() as s:  # a fresh session: values come from the database
        campaign = await s.scalar(select(m.Campaign))
    assert campaign is not None
    for stored, original in ((campaign.created_at, beijing), (campaign.updated_at, utc)):
        assert stored.tzinfo is not None
        assert stored.utcoffset() == timedelta(0)
        assert stored == original
    assert campaign.created_at == datetime(2017, 1, 11, 2, 0, 0, 123456, tzinfo=UTC)


async def test_instants_in_different_zones_compare_and_sort_as_instants_in_sql(
    database: Database,
) -> None:
    # In local wall-clock text "b" (11:00+08) would sort after "a" (04:00Z): it is earlier.
    a = datetime(2017, 1, 11, 4, 0, tzinfo=UTC)
    b = datetime(2017, 1, 11, 11, 0, tzinfo=BEIJING)  # 03:00Z
    c = datetime(2017, 1, 11, 4, 30, tzinfo=timezone(timedelta(hours=-5)))  # 09:30Z
    async with database.sessions.begin() as s:
        s.add_all([_person("a", a), _person("b", b), _person("c", c)])
    async with database.sessions() as s:
        ordered = (
            await s.scalars(select(m.Person.external_id).order_by(m.Person.created_at))
        ).all()
        later = (
            await s.scalars(
                select(m.Person.external_id)
                .where(m.Person.created_at > b)
                .order_by(m.Person.external_id)
            )
        ).all()
        at_a = (
            await s.scalars(
                select(m.Person.external_id).where(m.Person.created_at == a.astimezone(BEIJING))
            )
        ).all()
    assert ordered == ["b", "a", "c"]
    assert later == ["a", "c"]
    assert at_a == ["a"]


async def test_a_naive_datetime_is_refused_and_nothing_is_written(database: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime") as raised:
        async with database.sessions.begin() as s:
            s.add(_person("naive", datetime(2017, 1, 11, 10, 0)))
    assert isinstance(raised.value.orig, ValueError)
    async with database.sessions() as s:
        with pytest.raises(StatementError, match="naive datetime"):
            await s.execute(select(m.Person).where(m.Person.created_at > datetime(2017, 1, 11)))
    async with database.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(m.Person)) == 0


async def test_concurrent_upgrades_of_one_postgresql_schema_migrate_it_once(
    pg_url: Target,
) -> None:
    engines = [pg_url.engine() for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(e) for e in engines))
        assert [await current_revision(e) for e in engines] == [HEAD] * 3
        async with engines[0].connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
            assert await conn.run_sync(_table_names) == TABLES | {"alembic_version"}
    finally:
        for e in engines:
            await e.dispose()


class _Interrupted(Exception):
    """Stands in for whatever stops a migration halfway: a full disk, a killed process."""


async def test_an_upgrade_that_fails_halfway_leaves_no_table_behind_and_can_be_retried(
    target: Target,
) -> None:
    def interrupt(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.strip().upper().startswith("CREATE TABLE DEADLINES"):
            raise _Interrupted(statement)

    async with target.open(migrate=False) as db:
        event.listen(db.engine.sync_engine, "before_cursor_execute", interrupt)
        with pytest.raises(_Interrupted):
            await upgrade(db.engine)
        event.remove(db.engine.sync_engine, "before_cursor_execute", interrupt)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_table_names) == set()
        await upgrade(db.engine)  # the next start migrates from scratch
        assert await db.revision() == HEAD
