"""`cuibao backup` and `cuibao restore`: the database and the stored files make the round
trip on SQLite (online backup API) and on PostgreSQL (pg_dump / pg_restore)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.engine import make_url

from bot.cli import main
from storage import models as m
from storage.database import Database
from tests.storage.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"


@pytest.fixture(params=["sqlite", *(["postgresql"] if PG_URL else [])])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own: pg_restore --clean must not touch other tests' schemas."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cuibao.sqlite3'}"
        return
    assert PG_URL is not None
    name = f"cuibao_backup_{uuid4().hex[:12]}"
    asyncio.run(_sql(PG_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_sql(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _sql(url: str, statement: str) -> None:
    from storage.db import create_engine as async_engine

    engine = async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _lose_units(url: str) -> None:
    async with Database.open(url) as db, db.sessions.begin() as s:
        await s.execute(delete(m.UnitDeadlineOverride))
        await s.execute(text("UPDATE units SET name = 'x'"))


async def _names(url: str) -> set[str]:
    async with Database.open(url) as db, db.sessions() as s:
        return set((await s.scalars(select(m.Unit.name))).all())


def test_a_backup_restores_the_database_and_the_files(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = tmp_path / "files"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{database}"\n[files]\ndir = "{files}"\n', encoding="utf-8"
    )
    assert main(["plan", "load", str(DAGUAN), "--config", str(config)]) == 0
    (files / "1" / "1").mkdir(parents=True)
    (files / "1" / "1" / "a.pdf").write_bytes(b"%PDF-1.4 report")
    before = asyncio.run(_names(database))
    capsys.readouterr()

    out = tmp_path / "backup"
    assert main(["backup", "--out", str(out), "--config", str(config)]) == 0
    assert "附件 1 个" in capsys.readouterr().out

    asyncio.run(_lose_units(database))
    (files / "1" / "1" / "a.pdf").write_bytes(b"overwritten")
    (files / "stray.txt").write_text("made after the backup")
    assert asyncio.run(_names(database)) == {"x"}

    assert main(["restore", str(out), "--yes", "--config", str(config)]) == 0
    assert asyncio.run(_names(database)) == before
    assert (files / "1" / "1" / "a.pdf").read_bytes() == b"%PDF-1.4 report"
    assert not (files / "stray.txt").exists()


def test_restore_asks_first_and_a_backup_never_writes_into_a_used_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = f"sqlite:///{tmp_path / 'cuibao.sqlite3'}"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{database}"\n', encoding="utf-8")
    assert main(["plan", "load", str(DAGUAN), "--config", str(config)]) == 0
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    capsys.readouterr()

    assert main(["backup", "--out", str(used), "--config", str(config)]) == 1
    assert main(["restore", str(used), "--config", str(config)]) == 1  # no --yes, no tty
    assert main(["restore", str(used), "--yes", "--config", str(config)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{used} 已存在且不是空文件夹:请换一个新文件夹。",
        "恢复会覆盖当前数据库和附件:确认无误后加 --yes 再运行。",
        f"{used} 里没有 cuibao 备份(缺少 backup.json)。",
    ]
    assert (used / "keep.txt").read_text() == "mine"
