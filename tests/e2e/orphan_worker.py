"""Attach one file to a draft in a process of its own, for tests/e2e/test_orphan_files.py.

    python -m tests.e2e.orphan_worker DB_URL FILES_DIR EXTERNAL_ID DRAFT_ID NOW_ISO

Run with CUIBAO_TEST_CRASH_AT=file_written (storage/filestore.py) the process SIGKILLs
itself after the file is written and before its attachment row is committed.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

from services.access import AccessService
from services.campaign_reads import PlanRegistry
from services.reports import ReportService, UploadLimits
from storage.database import Database
from storage.filestore import FileStore

PDF = b"%PDF-1.4\n%%EOF\n"


async def attach(db_url: str, files: Path, external_id: str, draft_id: int, now: datetime) -> None:
    async with Database.open(db_url) as db:
        actor = await AccessService(db.sessions).identify(external_id, "", None, now)
        reports = ReportService(
            db.sessions,
            PlanRegistry(),
            FileStore(files),
            UploadLimits(20 * 1024 * 1024, frozenset({"pdf"})),
        )
        result = await reports.attach(actor, draft_id, "report.pdf", "application/pdf", PDF, now)
        print(type(result).__name__)


if __name__ == "__main__":
    url, folder, person, draft, when = sys.argv[1:6]
    asyncio.run(attach(url, Path(folder), person, int(draft), datetime.fromisoformat(when)))
