"""No orphan files: a process killed between writing an upload and committing its row
leaves a file that the next start deletes once it is older than the grace period."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import models as m
from storage.filestore import CRASH_ENV
from tests.e2e.conftest import CAMPAIGN_DAY
from tests.e2e.harness import ROOT, running_bot
from tests.e2e.test_bad_input import A, liaison_at

PDF = b"%PDF-1.4\n%%EOF\n"


def stored(files: Path) -> list[Path]:
    return sorted(p for p in files.rglob("*") if p.is_file()) if files.exists() else []


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
async def test_a_file_whose_process_died_before_its_row_was_committed_is_swept_at_start(
    tmp_path: Path,
) -> None:
    files = tmp_path / "files"
    async with running_bot(tmp_path, CAMPAIGN_DAY) as bot:
        await liaison_at(bot, 9)  # the weekly report, waiting for its files
        [draft] = await bot.rows(m.Draft)

    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.orphan_worker",
        f"sqlite:///{tmp_path / 'cuibao.sqlite3'}",
        str(files),
        str(A),
        str(draft.id),
        CAMPAIGN_DAY.isoformat(),
        cwd=ROOT,
        env={**os.environ, CRASH_ENV: "file_written"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await worker.communicate()
    assert worker.returncode == -signal.SIGKILL, (out, err)
    [orphan] = stored(files)

    # Restarted at once: the file may be another process's upload about to be committed.
    async with running_bot(tmp_path, CAMPAIGN_DAY) as bot:
        assert await bot.rows(m.Attachment) == []
        assert stored(files) == [orphan]

    # Restarted when the file is older than the grace period: nothing refers to it, it goes.
    an_hour_and_more = time.time() - 3700
    os.utime(orphan, (an_hour_and_more, an_hour_and_more))
    async with running_bot(tmp_path, CAMPAIGN_DAY) as bot:
        assert stored(files) == []

        # The liaison sends the file again: one file on disk, one row that refers to it.
        bot.add_user(A, "李明")  # (a new fake Telegram knows nobody yet)
        await bot.document(A, PDF, "report.pdf", "application/pdf")
        [attachment] = await bot.rows(m.Attachment)
        assert stored(files) == [files / attachment.storage_key]


async def test_an_old_file_that_an_attachment_refers_to_is_kept_at_start(tmp_path: Path) -> None:
    files = tmp_path / "files"
    async with running_bot(tmp_path, CAMPAIGN_DAY) as bot:
        await liaison_at(bot, 9)
        await bot.document(A, PDF, "report.pdf", "application/pdf")
    [kept] = stored(files)
    long_ago = time.time() - 30 * 86400
    os.utime(kept, (long_ago, long_ago))

    async with running_bot(tmp_path, CAMPAIGN_DAY) as bot:
        assert stored(files) == [kept]
        assert len(await bot.rows(m.Attachment)) == 1
