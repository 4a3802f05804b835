"""An archive too large for one message is split into whole .zip files that each fit;
a file too large for any message is named instead of sent."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from storage.archive import split_archive


def _archive(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def test_an_archive_that_fits_is_sent_as_it_is(tmp_path: Path) -> None:
    whole = _archive(tmp_path / "a.zip", {"德宽路/周报.pdf": b"x" * 1000})
    assert split_archive(whole, 10 * 1024 * 1024, tmp_path) == ([whole], [])


def test_a_large_archive_becomes_parts_under_the_limit_holding_every_file(
    tmp_path: Path,
) -> None:
    files = {f"单位{i}/周报{i}.bin": os.urandom(300 * 1024) for i in range(10)}  # incompressible
    files["大文件/录像.bin"] = os.urandom(1200 * 1024)
    whole = _archive(tmp_path / "a.zip", files)
    limit = 1024 * 1024

    parts, too_large = split_archive(whole, limit, tmp_path)

    assert too_large == ["大文件/录像.bin"]
    assert len(parts) >= 4
    seen: dict[str, bytes] = {}
    for part in parts:
        assert part.stat().st_size <= limit
        with zipfile.ZipFile(part) as z:
            assert z.testzip() is None
            seen.update({n: z.read(n) for n in z.namelist()})
    assert seen == {n: d for n, d in files.items() if n != "大文件/录像.bin"}
