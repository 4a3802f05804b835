"""Uploaded files on disk, under generated names; the user's file name stays in the database."""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
from dataclasses import dataclass
from pathlib import Path

# Extensions are taken from this allow-list only, so a name like "../../x.exe" or
# "报表.xlsx\x00.sh" can never shape a path.
SAFE_EXTENSIONS = frozenset(
    {"doc", "docx", "xls", "xlsx", "wps", "et", "pdf", "jpg", "jpeg", "png", "zip", "txt", "csv"}
)


@dataclass(frozen=True)
class StoredFile:
    key: str  # relative path inside the store
    size: int
    sha256: str


def extension_of(name: str) -> str:
    """Lower-case extension of a user's file name, '' if none."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


# Test seam: a process started with CUIBAO_TEST_CRASH_AT=file_written kills itself (SIGKILL)
# right after a file is written and before the row that refers to it is committed, as a
# power cut there would (tests/e2e/test_orphan_files.py). Never set in a deployment.
CRASH_ENV = "CUIBAO_TEST_CRASH_AT"
MAX_NAME = 255  # characters of a user's file name kept in the database


def stored_name(name: str, limit: int = MAX_NAME) -> str:
    """The user's file name cut to `limit` characters, its extension kept (so the file
    still opens when it is handed back, e.g. in the --with-files archive)."""
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        return name[:limit]
    return stem[: limit - len(ext) - 1].rstrip(" ") + "." + ext


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(
        self, data: bytes, campaign: int, unit: int, deadline: int, extension: str
    ) -> StoredFile:
        ext = extension if extension in SAFE_EXTENSIONS else "bin"
        key = f"c{campaign}/u{unit}/d{deadline}/{secrets.token_hex(16)}.{ext}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        # Write then rename, and fsync, so a crash never leaves a half file under a real key.
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
        if os.environ.get(CRASH_ENV) == "file_written":
            os.kill(os.getpid(), signal.SIGKILL)
        return StoredFile(key, len(data), hashlib.sha256(data).hexdigest())

    def keys_older_than(self, cutoff: float) -> list[str]:
        """Keys of the files (half-written ones too) last modified before `cutoff`, in
        wall-clock seconds: file times are the file system's, not an injected clock."""
        if not self.root.is_dir():
            return []
        return [
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file() and path.stat().st_mtime < cutoff
        ]

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("storage key escapes the file store")
        return path

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
