"""Nudges exactly once under faults, counted from what the fake Bot API received (not from
the sent-log): a timeout after delivery is recorded as unknown and not sent again; a long
round's claims are leased, so a second process never takes them for stale; a process
told to stop gives back what it has not sent, and another sends it at once."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.nudge_loop import CatalogueRenderer, ReminderNotifier
from bot.transport import AiohttpRequest
from conversation.i18n import Catalogue
from fakegram import FakeTelegram
from services.nudges import ReminderConfig, ReminderDispatcher
from services.ports import Button, Delivery
from services.send_rate import RateSharedNotifier, SharedRate
from storage import models as m
from storage.database import Database
from tests.e2e.reminders_worker import NOW, RunningClock, seed
from tests.e2e.test_reminders import _bot_process, deliveries

ROOT = Path(__file__).resolve().parents[2]


def _dispatcher(
    db: Database, notifier: object, worker: str, **config: object
) -> ReminderDispatcher:
    settings = ReminderConfig(digest_at=None, worker=worker, **config)  # type: ignore[arg-type]
    return ReminderDispatcher(
        db.sessions,
        notifier,  # type: ignore[arg-type]
        CatalogueRenderer(Catalogue()),
        RunningClock(NOW),
        settings,
    )


async def _statuses(db: Database) -> Counter[str]:
    async with db.sessions() as s:
        return Counter((await s.scalars(select(m.SentReminder.status))).all())


async def test_a_timeout_after_delivery_is_recorded_unknown_and_never_sent_again(
    tmp_path: Path,
) -> None:
    from telegram import Bot

    async with (
        FakeTelegram() as fake,
        Database.open(f"sqlite:///{tmp_path / 'db.sqlite3'}") as db,
    ):
        chats = [u.id for u in fake.add_users(5)]
        await seed(db, chats)  # 5 units × 2 deadlines: 10 nudges due
        bot = Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest(read_timeout=0.3))
        async with bot:
            fake.answer_late("sendMessage", 2, seconds=1.0)  # delivered, answered too late
            dispatcher = _dispatcher(db, ReminderNotifier(bot, retries=3, backoff=0.01), "a")
            report = await dispatcher.run()
            again = await dispatcher.run()  # and the next round

        got = deliveries(fake, chats)
        assert len(got) == 10 and set(got.values()) == {1}  # no one got a nudge twice
        assert (report.sent, report.unknown, report.failed) == (8, 2, 0)
        assert (again.sent, again.unknown) == (0, 0)
        assert await _statuses(db) == Counter({"sent": 8, "unknown": 2})


class SlowNotifier:
    """A platform that takes its time: each send is recorded, then takes `seconds`."""

    def __init__(self, sent: Counter[tuple[str, str]], seconds: float) -> None:
        self.sent, self.seconds = sent, seconds

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        self.sent[(external_id, buttons[0][0].data if buttons else text)] += 1
        await asyncio.sleep(self.seconds)
        return Delivery.SENT


async def test_a_long_rounds_claims_are_leased_so_a_second_process_takes_none_of_them(
    tmp_path: Path,
) -> None:
    async with Database.open(f"sqlite:///{tmp_path / 'db.sqlite3'}") as db:
        people = list(range(5001, 5007))
        await seed(db, people)  # 6 units × 2 deadlines: 12 nudges
        sent: Counter[tuple[str, str]] = Counter()
        # A sends one at a time, 0.3 s each: its round lasts ~3.6 s, its leases 1 s.
        lease = timedelta(seconds=1)
        slow = _dispatcher(db, SlowNotifier(sent, 0.3), "slow", concurrency=1, stale_after=lease)
        fast = _dispatcher(db, SlowNotifier(sent, 0.0), "fast", concurrency=4, stale_after=lease)
        long_round = asyncio.create_task(slow.run())
        await asyncio.sleep(2.0)  # A's first claims are twice its lease old by now
        second = await fast.run()
        first = await long_round

        assert len(sent) == 12 and set(sent.values()) == {1}
        assert (first.sent, second.sent) == (12, 0)
        assert await _statuses(db) == Counter({"sent": 12})


async def test_sigterm_mid_round_gives_back_what_was_not_sent_and_another_process_sends_it(
    tmp_path: Path,
) -> None:
    async with FakeTelegram() as fake:
        chats = [u.id for u in fake.add_users(60)]
        db_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        async with Database.open(db_url) as db:
            await seed(db, chats)  # 120 nudges, sent at 8 a second: a 15 s round
        fake.set_flood_limit(None)

        first = await _bot_process(fake, db_url, NOW, rate=8)
        await fake.wait_until(
            lambda: len(deliveries(fake, chats)) >= 20, 30.0, describe="20 nudges"
        )
        first.send_signal(signal.SIGTERM)
        began = asyncio.get_running_loop().time()
        _out, err = await asyncio.wait_for(first.communicate(), 30.0)
        took = asyncio.get_running_loop().time() - began
        assert first.returncode == 0, err.decode()[-2000:]
        assert took < 10.0, f"took {took:.1f} s to stop"
        at_stop = len(deliveries(fake, chats))
        assert at_stop < 100
        async with Database.open(db_url) as db:
            left = await _statuses(db)
        assert set(left) == {"sent"} and left["sent"] == at_stop  # the rest given back

        # Started at once: nothing waits for a lease to run out.
        second = await _bot_process(fake, db_url, NOW, rate=8)
        try:
            await fake.wait_until(
                lambda: len(deliveries(fake, chats)) == 120, 30.0, describe="all 120"
            )
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.communicate(), 30.0)
        got = deliveries(fake, chats)
        assert len(got) == 120 and set(got.values()) == {1}


class TimedNotifier:
    """Records the wall-clock second of every send."""

    def __init__(self, seconds: list[int], sent: Counter[tuple[str, str]]) -> None:
        self.seconds, self.sent = seconds, sent

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        self.seconds.append(int(time.time()))
        self.sent[(external_id, buttons[0][0].data if buttons else text)] += 1
        return Delivery.SENT


async def test_two_processes_of_one_bot_share_its_per_second_budget(tmp_path: Path) -> None:
    async with Database.open(f"sqlite:///{tmp_path / 'db.sqlite3'}") as db:
        await seed(db, list(range(6001, 6021)))  # 20 units × 2 deadlines: 40 nudges
        seconds: list[int] = []
        sent: Counter[tuple[str, str]] = Counter()
        dispatchers = [
            _dispatcher(
                db,
                RateSharedNotifier(
                    TimedNotifier(seconds, sent), SharedRate(db.sessions, "bot", 8)
                ),
                worker,
                claim_batch=5,
            )
            for worker in ("one", "two")
        ]
        reports = await asyncio.gather(*(d.run() for d in dispatchers))

    assert len(sent) == 40 and set(sent.values()) == {1}
    assert all(r.sent for r in reports), "both processes sent"
    assert max(Counter(seconds).values()) <= 8  # 8 a second for the bot, not per process
