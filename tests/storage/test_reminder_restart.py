"""The database restarting in the middle of a fan-out (its connections cut, as a restart
cuts them): marks that could not be written are written again, never the nudges sent
again. Counted from what the platform received."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from storage.database import Database
from storage.db import create_engine
from tests.e2e.reminders_worker import seed
from tests.e2e.test_reminder_faults import SlowNotifier, _dispatcher, _statuses
from tests.storage.conftest import Target

APP = "cuibao-restart-test"


async def test_a_database_restart_mid_fan_out_loses_no_mark_and_sends_nothing_twice(
    pg_url: Target,
) -> None:
    kwargs: dict[str, Any] = pg_url.engine_kwargs()
    kwargs["connect_args"]["server_settings"]["application_name"] = APP
    async with Database.open(pg_url.url, **kwargs) as db:
        await seed(db, range(7001, 7031))  # 30 units × 2 deadlines: 60 nudges
        sent: Counter[tuple[str, str]] = Counter()
        dispatcher = _dispatcher(db, SlowNotifier(sent, 0.05), "a", concurrency=2)
        fan_out = asyncio.create_task(dispatcher.run())
        while sum(sent.values()) < 20:  # noqa: ASYNC110 (a plain counter, polled)
            await asyncio.sleep(0.01)
        admin = create_engine(pg_url.url, poolclass=NullPool)
        try:
            async with admin.begin() as conn:
                cut = await conn.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :app"
                    ),
                    {"app": APP},
                )
        finally:
            await admin.dispose()
        with contextlib.suppress(Exception):  # a claim caught by the cut fails its round
            await fan_out
        await dispatcher.run()  # the next round: only what is left

        assert cut >= 1
        assert len(sent) == 60 and set(sent.values()) == {1}
        assert await _statuses(db) == Counter({"sent": 60})
