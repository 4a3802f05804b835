"""Backups of a deployment: the database and the stored files, into one folder.

SQLite is copied with its online backup API (a consistent copy while the bot runs and
writes); PostgreSQL with `pg_dump --format=custom` and back with `pg_restore --clean`,
the tools of the server's own client package. The stored files are copied beside it."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

SQLITE_FILE = "cuibao.sqlite3"
POSTGRES_FILE = "cuibao.pgdump"
FILES = "files"
MANIFEST = "backup.json"


class BackupError(Exception):
    """Why a backup or restore cannot be done, as a code and its parameters."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code)
        self.code, self.params = code, params


@dataclass(frozen=True)
class BackupReport:
    folder: Path
    backend: str  # "sqlite" or "postgresql"
    database_bytes: int
    files: int


def backup(url: str, files_dir: Path, out: Path, now: datetime) -> BackupReport:
    """Write the database and the stored files into `out` (a new or empty folder)."""
    if out.exists() and any(out.iterdir()):
        raise BackupError("backup_not_empty", folder=str(out))
    out.mkdir(parents=True, exist_ok=True)
    backend = _backend(url)
    if backend == "sqlite":
        target = out / SQLITE_FILE
        source = sqlite3.connect(_sqlite_path(url))
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)  # page by page, consistent while others write
        finally:
            copy.close()
            source.close()
    else:
        target = out / POSTGRES_FILE
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq(url)])
    count = _copy_files(files_dir, out / FILES)
    (out / MANIFEST).write_text(
        json.dumps({"backend": backend, "made_at": now.isoformat(), "files": count}, indent=1),
        encoding="utf-8",
    )
    return BackupReport(out, backend, target.stat().st_size, count)


def restore(url: str, files_dir: Path, folder: Path) -> BackupReport:
    """Replace the database and the stored files with those of a backup folder."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise BackupError("backup_not_found", folder=str(folder))
    made = json.loads(manifest.read_text(encoding="utf-8"))
    backend = _backend(url)
    if made.get("backend") != backend:
        raise BackupError("backup_other_backend", made=str(made.get("backend")), target=backend)
    if backend == "sqlite":
        source_path = folder / SQLITE_FILE
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        target = sqlite3.connect(_sqlite_path(url))
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        source_path = folder / POSTGRES_FILE
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq(url)}",
                str(source_path),
            ]
        )
    if files_dir.exists():
        shutil.rmtree(files_dir)
    count = _copy_files(folder / FILES, files_dir)
    return BackupReport(folder, backend, source_path.stat().st_size, count)


def _backend(url: str) -> str:
    return "sqlite" if make_url(url).get_backend_name() == "sqlite" else "postgresql"


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("backup_memory")
    return database


def _libpq(url: str) -> str:
    """The URL as libpq reads it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _copy_files(source: Path, target: Path) -> int:
    if not source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return 0
    shutil.copytree(source, target, dirs_exist_ok=True)
    return sum(1 for p in target.rglob("*") if p.is_file())


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError("backup_no_tool", tool=command[0]) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise BackupError("backup_tool_failed", tool=command[0], detail=last[:300])
