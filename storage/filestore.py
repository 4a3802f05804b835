"""Uploaded files on disk, under generated names; the user's file name stays in the database."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

# Extensions are taken from this allow-list only, so a name like "../../x.exe" or
# "报表.xlsx\x00.sh" can never shape a path.
SAFE_EXTENSIONS = frozenset({"doc", "docx", "xls", "xlsx", "wps", "et", "pdf", "jpg", "jpeg",
                             "png", "zip", "txt", "csv"})


@dataclass(frozen=True)
class StoredFile:
    key: str  # relative path inside the store
    size: int
    sha256: str


def extension_of(name: str) -> str:
    """Lower-case extension of a user's file name, '' if none."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


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

    def put(self, data: bytes, campaign: int, unit: int, deadline: int, extension: str
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
        return StoredFile(key, len(data), hashlib.sha256(data).hexdigest())

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("storage key escapes the file store")
        return path

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
