"""A .zip of submitted files, laid out as 单位/截止事项/原文件名.

Every path component comes from user or plan text, so each is sanitised on its own: no
separators, no "." or "..", no drive letters, no control characters, no names Windows
reserves, and a length that every file system accepts. Names that collide (also when
they differ only in case, as on Windows) get " (2)", " (3)" … before the extension.
Files are streamed from disk into the archive: memory does not grow with their size.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Self

_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_MAX_BYTES = 120  # UTF-8 bytes per component: well under the usual 255, with room for " (n)"
UNNAMED = "_"


def safe_component(name: str, fallback: str = UNNAMED) -> str:
    """One path component that cannot climb out of its folder or upset a file system."""
    text = unicodedata.normalize("NFC", name)
    text = _FORBIDDEN.sub("_", text).strip().strip(".").strip()
    if not text:
        text = fallback
    if _RESERVED.match(text):
        text = "_" + text
    return _truncate(text, _MAX_BYTES)


def _truncate(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > 16:
        stem, dot, ext = name, "", ""
    room = limit - len((dot + ext).encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip(" .")
    return (cut or UNNAMED) + dot + ext


def _numbered(name: str, n: int) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({n})"
    return f"{stem} ({n}).{ext}"


class FileArchive:
    """Writes the archive; `add` returns the name a file got inside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True, strict_timestamps=False
        )
        self._taken: set[str] = set()
        self.count = 0

    def unique(self, folders: Sequence[str], name: str) -> str:
        """A free archive path for `name` under the (already safe) folders."""
        safe = safe_component(name)
        prefix = "".join(f"{f}/" for f in folders)
        candidate, n = prefix + safe, 1
        while candidate.casefold() in self._taken:
            n += 1
            candidate = prefix + _numbered(safe, n)
        self._taken.add(candidate.casefold())
        return candidate

    def add(self, source: Path, folders: Sequence[str], name: str) -> str:
        arcname = self.unique([safe_component(f) for f in folders], name)
        self._zip.write(source, arcname)
        self.count += 1
        return arcname

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unique_names(names: Sequence[str], fallback: str = UNNAMED) -> list[str]:
    """Safe folder names for a list of labels, disambiguated in order."""
    taken: set[str] = set()
    result = []
    for name in names:
        safe = safe_component(name, fallback)
        candidate, n = safe, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{safe} ({n})"
        taken.add(candidate.casefold())
        result.append(candidate)
    return result


def split_archive(source: Path, limit: int, out_dir: Path) -> tuple[list[Path], list[str]]:
    """The archive as parts of at most `limit` bytes each (each a whole .zip a person can
    open on its own, the entries compressed as they were), and the names of the entries
    too large for any part on their own. One part when it fits already."""
    if source.stat().st_size <= limit:
        return [source], []
    parts: list[Path] = []
    too_large: list[str] = []
    overhead = 1024  # the central directory and end record of one entry, generously
    limit -= 64 * 1024  # room for a recompressed entry coming out a little larger
    with zipfile.ZipFile(source) as whole:
        current: zipfile.ZipFile | None = None
        used = 0
        for info in whole.infolist():
            need = info.compress_size + 2 * len(info.filename.encode("utf-8")) + 2 * overhead
            if need > limit:
                too_large.append(info.filename)
                continue
            if current is None or used + need > limit:
                if current is not None:
                    current.close()
                parts.append(out_dir / f"{source.stem}-{len(parts) + 1}.zip")
                current = zipfile.ZipFile(parts[-1], "w", allowZip64=True)
                used = 0
            with whole.open(info) as data, current.open(info, "w") as copy:
                while chunk := data.read(1 << 20):
                    copy.write(chunk)
            used += need
        if current is not None:
            current.close()
    return parts, too_large
