from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, running_bot

# 2016-12-14 10:00 in Beijing: the day before the liaison list and a weekly report fall due.
CAMPAIGN_DAY = datetime(2016, 12, 14, 2, 0, tzinfo=UTC)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, CAMPAIGN_DAY) as harness:
        yield harness
