"""How close cuibao's chat handling comes to a bare python-telegram-bot echo bot.

    python bench/chat_throughput.py [--users 200] [--concurrency 50] [--repeat 1]
        [--same-transport] [--profile] [--profile-dir DIR]

Each bot runs in a child process of its own (`Application.run_polling` with the defaults
`cuibao run` uses: poll_interval 0, timeout 10 s, every update type, 64 updates handled
concurrently) against a fakegram server in this process, which also plays the users:

- cuibao: the real `build_application` on SQLite in a temp dir, the clock fixed on
  2016-12-15 09:00 Beijing, the rate limiter raised to 1e6 messages/s (the fake has no flood
  limit). Each simulated liaison officer, bound to a unit beforehand, completes the weekly
  report: /submit, taps the deadline, answers the eight questions, taps "附件已传完", taps
  "确认提交" — 12 updates.
- echo: a minimal Application with one MessageHandler replying the same text, the same
  64-update concurrency, no rate limiter and PTB's default transport (httpx, form-encoded
  bodies); each user sends 12 texts. cuibao talks through its own transport
  (bot/transport.py: aiohttp, JSON bodies), which is part of what is measured.
- echo on cuibao's transport (only with --same-transport): the same echo bot on
  AiohttpRequest. Its ratio is printed for information: it isolates what cuibao's own work
  (database, forms, texts) costs over a bot that does nothing.

`--users` users take part, at most `--concurrency` of them at a time; each waits for the
bot's answer before its next update. Latency is measured per reply, from injecting the
user's update into the fake to the bot's message (or edit) appearing there. One more user
warms each bot up first (not measured). A user whose flow breaks off (the bot answers with
its error message, or not at all) is counted and stops. Prints updates/s, p50/p95/max
latency, the CPU the bot's process spent per update (all threads, from /proc), the SQL
statements it ran per update (as SQLAlchemy sends them: on SQLite a transaction's BEGIN
IMMEDIATE travels with its first statement and is not counted apart), the transactions,
the time it spent awaiting statements, and the throughput ratio cuibao/echo (target >=
0.7). `--repeat` interleaves the runs and reports the median: on a shared machine single
runs vary by a third; CPU per update varies less.

cuibao opens its database exactly as `cuibao run` does (SQLite: one connection per
process, every transaction BEGIN IMMEDIATE).

When the target is missed, or with --profile, both bots run once more under cProfile (CPU
time of the event-loop thread, only during the measured phase) and the script prints, per
update, where each one's CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import signal
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from conversation.i18n import Catalogue
from fakegram import ChatMessage, FakeTelegram, WaitTimeout

ROOT = Path(__file__).resolve().parents[1]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
TARGET_RATIO = 0.7
UPDATES_PER_USER = 12
NOW = datetime(2016, 12, 15, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
FIRST_USER = 3_000_001
# The weekly report (打假统计报表): six figures, an optional one, an optional text.
ANSWERS = ("36", "128", "5", "2", "1.35", "0.8", "0.5", "假冒白酒120瓶")
GENERIC_ERROR = Catalogue("zh-CN").text("error.generic")
STEP_TIMEOUT = 30.0  # generous: a stalled bot shows up as an error, not a wrong figure
START_TIMEOUT = 60.0


@dataclass
class Result:
    name: str
    users: int
    updates: int
    wall: float
    latencies: list[float]
    bot_cpu: float | None  # seconds of CPU the bot's process used in the measured phase
    main_cpu: float | None  # ... of which its main thread (the event loop)
    driver_cpu: float  # seconds of CPU this process (fake server + users) used meanwhile
    failures: list[str]  # users whose flow broke off (bot error, timeout): why
    statements: int = 0  # SQL statements the bot ran in the measured phase
    transactions: int = 0  # ... and transactions (a single read outside one included)
    sql_seconds: float = 0.0  # wall time it spent awaiting the statements (thread hop included)

    @property
    def throughput(self) -> float:
        return self.updates / self.wall

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Scenario:
    """One bot under test: how to prepare its world and what each user does."""

    name: str
    kind: str  # "ours" or "echo", the child's --serve kind
    prepare: Callable[[FakeTelegram, list[int], Path], Awaitable[dict[str, Any]]]
    # (fake, user id, spec, latencies): latencies is None for the unmeasured warm-up
    flow: Callable[[FakeTelegram, int, dict[str, Any], list[float] | None], Awaitable[None]]
    check: Callable[[dict[str, Any], int], Awaitable[None]] | None = None


class FlowFailed(Exception):
    """The bot answered a step with an error (or not at all): this user stops here."""


def _timeout(latencies: list[float] | None) -> float:
    return STEP_TIMEOUT if latencies is not None else START_TIMEOUT


# ---------------------------------------------------------------------- measuring steps


async def step(
    fake: FakeTelegram, user_id: int, inject: Callable[[], object], latencies: list[float] | None
) -> ChatMessage:
    """Inject one update and wait for the bot's next message in the chat."""
    chat = fake.chat(user_id)
    loop = asyncio.get_running_loop()
    started = loop.time()
    inject()
    mark = chat.next_message_id  # after a user message: that message took the id before
    try:
        await fake.wait_until(
            lambda: chat.next_message_id > mark,
            _timeout(latencies),
            describe=f"a reply in chat {user_id}",
        )
    except WaitTimeout as exc:
        raise FlowFailed(f"no reply within {_timeout(latencies)} s") from exc
    if latencies is not None:
        latencies.append(loop.time() - started)
    reply = chat.messages[mark]
    if reply.text == GENERIC_ERROR:
        raise FlowFailed("the bot answered with its generic error message")
    return reply


async def edit_step(
    fake: FakeTelegram,
    user_id: int,
    message: ChatMessage,
    inject: Callable[[], object],
    latencies: list[float] | None,
) -> None:
    """Inject one update and wait until the bot edits `message`."""
    loop = asyncio.get_running_loop()
    before = len(message.edits)
    started = loop.time()
    inject()
    mark = fake.chat(user_id).next_message_id
    try:
        await fake.wait_until(
            lambda: len(message.edits) > before or (fake.chat(user_id).next_message_id > mark),
            _timeout(latencies),
            describe=f"an edit of message {message.message_id} in {user_id}",
        )
    except WaitTimeout as exc:
        raise FlowFailed(f"no edit within {_timeout(latencies)} s") from exc
    if len(message.edits) == before:
        raise FlowFailed(
            f"a new message instead of the edit: {fake.chat(user_id).messages[mark].text!r}"
        )
    if latencies is not None:
        latencies.append(loop.time() - started)


# ---------------------------------------------------------------------- cuibao


def bench_plan_text(units: int) -> str:
    """The Daguan example plan with at least `units` units (each user binds one)."""
    text = DAGUAN.read_text(encoding="utf-8")
    extra = [
        f'\n[[units]]\nid = "bench{i:05d}"\nname = "压测所{i:05d}"\ngroup = "市场监管所"\n'
        for i in range(max(0, units - 6))
    ]
    return text + "".join(extra)


async def prepare_ours(fake: FakeTelegram, user_ids: list[int], tmp: Path) -> dict[str, Any]:
    from sqlalchemy import select

    from domain.plan_toml import parse_plan
    from services.access import AccessService
    from services.plans import load_plan
    from storage import models as m
    from storage.database import Database

    db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    text = bench_plan_text(len(user_ids))
    plan = parse_plan(text, "bench.toml")
    async with Database.open(db_url) as db:
        await load_plan(db.sessions, plan, "bench.toml", text, NOW)
        access = AccessService(db.sessions)
        invites = await access.create_invites(plan.id, NOW, 14)
        for user_id, invite in zip(user_ids, invites, strict=False):
            actor = await access.identify(str(user_id), f"联络员{user_id}", None, NOW)
            await access.redeem(invite.token, actor, NOW)
        async with db.sessions() as s:
            rows = (
                await s.execute(
                    select(m.Deadline.id, m.Deadline.due_at)
                    .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                    .where(m.Obligation.code == "weekly-report")
                )
            ).all()
    beijing = ZoneInfo("Asia/Shanghai")
    weekly = next(
        i for i, due in rows if due.astimezone(beijing).date() == NOW.astimezone(beijing).date()
    )
    return {"db_url": db_url, "files_dir": str(tmp / "files"), "weekly": weekly, "tmp": str(tmp)}


async def ours_flow(
    fake: FakeTelegram, user_id: int, spec: dict[str, Any], latencies: list[float] | None
) -> None:
    texts = Catalogue("zh-CN")
    pick = await step(fake, user_id, lambda: fake.send_command(user_id, "submit"), latencies)
    message = await step(
        fake,
        user_id,
        lambda: fake.press_button(user_id, pick.message_id, f"sub:{spec['weekly']}"),
        latencies,
    )
    for answer in ANSWERS:
        message = await step(fake, user_id, partial(fake.send_text, user_id, answer), latencies)
    files = message
    preview = await step(
        fake,
        user_id,
        lambda: fake.press_button(user_id, files.message_id, text=texts.text("button.files_done")),
        latencies,
    )
    await edit_step(
        fake,
        user_id,
        preview,
        lambda: fake.press_button(user_id, preview.message_id, text=texts.text("button.confirm")),
        latencies,
    )
    done = preview.text or ""
    if "已提交" not in done:
        raise FlowFailed(f"the submission was not confirmed: {done!r}")


async def check_ours(spec: dict[str, Any], submitted: int) -> None:
    from sqlalchemy import func, select

    from storage import models as m
    from storage.database import Database

    async with Database.open(spec["db_url"], migrate=False) as db, db.sessions() as s:
        count = await s.scalar(select(func.count()).select_from(m.Submission))
    if count != submitted:
        raise RuntimeError(f"expected {submitted} submissions in the database, found {count}")


def serve_ours(spec: dict[str, Any]) -> Any:
    from pydantic import SecretStr

    from bot.app import build_application
    from bot.config import (
        BotSettings,
        DatabaseSettings,
        FileSettings,
        RateLimitSettings,
        ReminderSettings,
        Settings,
    )

    settings = Settings(
        bot=BotSettings(api_base_url=spec["base_url"], api_file_url=spec["file_url"]),
        database=DatabaseSettings(url=spec["db_url"]),
        files=FileSettings(dir=spec["files_dir"]),
        rate_limit=RateLimitSettings(overall_per_second=1_000_000),
        # Automatic nudges would land between a user's question and answer; this measures
        # the form flow alone (bench/reminders.py measures the nudges).
        reminders=ReminderSettings(enabled=False),
        base_dir=Path(spec["tmp"]),
        token=SecretStr(spec["token"]),
    )
    # Exactly what `cuibao run` does: post_init opens the database.
    return build_application(settings, clock=lambda: NOW)


# ---------------------------------------------------------------------- the echo bot


async def prepare_echo(fake: FakeTelegram, user_ids: list[int], tmp: Path) -> dict[str, Any]:
    return {}


async def echo_flow(
    fake: FakeTelegram, user_id: int, spec: dict[str, Any], latencies: list[float] | None
) -> None:
    for i in range(UPDATES_PER_USER):
        text = f"第{i + 1}条 {ANSWERS[i % len(ANSWERS)]}"
        reply = await step(fake, user_id, partial(fake.send_text, user_id, text), latencies)
        if reply.text != text:
            raise FlowFailed(f"echo {reply.text!r} for {text!r}")


def serve_echo(spec: dict[str, Any]) -> Any:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.text is not None:
            await message.reply_text(message.text)

    builder = (
        ApplicationBuilder()
        .token(spec["token"])
        .base_url(spec["base_url"])
        .base_file_url(spec["file_url"])
        .concurrent_updates(64)
    )
    if spec["kind"] == "echo-aiohttp":
        from bot.transport import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(1))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


# ---------------------------------------------------------------------- the child process


class Window:
    """Child side of the measured phase: SIGUSR1 opens it, SIGUSR2 closes it and writes
    what happened in it (SQL statements and the time spent in them; cProfile stats)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.stats_path = Path(spec["stats"])
        self.profile_path: str | None = spec.get("profile")
        # CPU time of the event-loop thread: idle waits in epoll do not count.
        self.profiler = cProfile.Profile(time.thread_time) if self.profile_path else None
        self.active = False
        self.statements = 0
        self.transactions = 0
        self.sql_seconds = 0.0

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)
        event.listen(Engine, "begin", self._begin)
        signal.signal(signal.SIGUSR1, self._open)
        signal.signal(signal.SIGUSR2, self._close)

    def _before(self, conn: Any, *_: Any) -> None:
        conn.info["bench.t0"] = time.perf_counter()

    def _after(self, conn: Any, *_: Any) -> None:
        if self.active:
            self.statements += 1
            self.sql_seconds += time.perf_counter() - conn.info.pop("bench.t0", 0.0)

    def _begin(self, _conn: Any) -> None:
        if self.active:
            self.transactions += 1

    def _open(self, *_: Any) -> None:
        self.active, self.statements, self.sql_seconds = True, 0, 0.0
        self.transactions = 0
        if self.profiler is not None:
            self.profiler.enable()

    def _close(self, *_: Any) -> None:
        self.active = False
        if self.profiler is not None and self.profile_path is not None:
            self.profiler.disable()
            self.profiler.dump_stats(self.profile_path)
        self.stats_path.write_text(
            json.dumps(
                {
                    "statements": self.statements,
                    "transactions": self.transactions,
                    "sql_seconds": self.sql_seconds,
                }
            )
        )


def serve(spec: dict[str, Any]) -> None:
    """Child process: build the bot and poll until SIGINT, like `cuibao run`."""
    from telegram import Update

    Window(spec).install()
    app = serve_ours(spec) if spec["kind"] == "ours" else serve_echo(spec)
    app.run_polling(allowed_updates=Update.ALL_TYPES)


def _cpu_seconds(stat_file: Path) -> float:
    fields = stat_file.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> tuple[float, float] | None:
    """CPU seconds (user + system) of a process: all its threads, and its main thread
    (the event loop). Linux /proc only; None elsewhere."""
    try:
        return (
            _cpu_seconds(Path(f"/proc/{pid}/stat")),
            _cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat")),
        )
    except OSError:
        return None


async def run_scenario(
    scenario: Scenario, users: int, concurrency: int, profile: Path | None = None
) -> Result:
    with tempfile.TemporaryDirectory(prefix="cuibao-bench-") as tmp_name:
        tmp = Path(tmp_name)
        async with FakeTelegram() as fake:
            user_ids = [FIRST_USER + i for i in range(users + 1)]  # the first one warms up
            for user_id in user_ids:
                fake.add_user(user_id, f"联络员{user_id}")
            spec = await scenario.prepare(fake, user_ids, tmp)
            spec.update(
                kind=scenario.kind,
                base_url=fake.base_url,
                file_url=fake.base_file_url,
                token=fake.token,
                profile=str(profile) if profile else None,
                stats=str(tmp / "window.json"),
            )
            child = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--serve", json.dumps(spec)
            )
            try:
                drive = asyncio.ensure_future(
                    _drive(scenario, fake, child.pid, spec, user_ids, concurrency)
                )
                exited = asyncio.ensure_future(child.wait())
                await asyncio.wait({drive, exited}, return_when=asyncio.FIRST_COMPLETED)
                if not drive.done():  # the bot died (its traceback is on stderr)
                    drive.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await drive
                    raise RuntimeError(f"the {scenario.name} bot exited with {child.returncode}")
                exited.cancel()
                result = drive.result()
            finally:
                if child.returncode is None:
                    child.send_signal(signal.SIGINT)
                await asyncio.wait_for(child.wait(), 60)
            if child.returncode != 0:
                raise RuntimeError(f"the {scenario.name} bot exited with {child.returncode}")
        if scenario.check is not None and not result.failures:
            await scenario.check(spec, len(user_ids))
    return result


async def _drive(
    scenario: Scenario,
    fake: FakeTelegram,
    pid: int,
    spec: dict[str, Any],
    user_ids: list[int],
    concurrency: int,
) -> Result:
    warm, measured = user_ids[0], user_ids[1:]
    # Warm-up, and the proof that the child is up: its first answers may take a while.
    await scenario.flow(fake, warm, spec, None)
    latencies: list[float] = []
    failures: list[str] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(user_id: int) -> None:
        async with gate:
            try:
                await scenario.flow(fake, user_id, spec, latencies)
            except FlowFailed as exc:
                failures.append(str(exc))

    os.kill(pid, signal.SIGUSR1)
    cpu_before, driver_before = process_cpu(pid), time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(one(u) for u in measured))
    wall = time.perf_counter() - started
    cpu_after, driver_cpu = process_cpu(pid), time.process_time() - driver_before
    os.kill(pid, signal.SIGUSR2)
    stats_path = Path(spec["stats"])
    for _ in range(500):  # the child writes its window's figures on SIGUSR2
        if stats_path.exists():
            break
        await asyncio.sleep(0.01)
    window = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    both = cpu_before is not None and cpu_after is not None
    bot_cpu = cpu_after[0] - cpu_before[0] if both and cpu_after and cpu_before else None
    main_cpu = cpu_after[1] - cpu_before[1] if both and cpu_after and cpu_before else None
    return Result(
        scenario.name,
        len(measured),
        len(latencies),
        wall,
        latencies,
        bot_cpu,
        main_cpu,
        driver_cpu,
        failures,
        window.get("statements", 0),
        window.get("transactions", 0),
        window.get("sql_seconds", 0.0),
    )


# ---------------------------------------------------------------------- reporting


def report(
    results: dict[str, list[Result]], users: int, concurrency: int, load: tuple[float, float]
) -> float:
    print(
        f"chat throughput: {users} users x {UPDATES_PER_USER} updates, concurrency "
        f"{concurrency}; fake Bot API on 127.0.0.1; each bot in its own process; "
        "cuibao on SQLite"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} before / "
        f"{load[1]:.1f} after (other work on the machine skews wall-clock figures; "
        f"CPU per update does not)"
    )
    print(
        f"{'':16}{'updates':>8}{'wall s':>8}{'upd/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'max ms':>8}{'CPU ms/upd':>11}{'SQL/upd':>8}{'tx/upd':>7}{'SQL ms/upd':>11}"
        f"{'driver CPU':>11}"
    )
    medians: dict[str, float] = {}
    for name, runs in results.items():
        best = sorted(runs, key=lambda r: r.throughput)[len(runs) // 2]  # the median run
        medians[name] = best.throughput
        n = max(1, best.updates)
        cpu = f"{1000 * best.bot_cpu / n:.2f}" if best.bot_cpu is not None else "-"
        print(
            f"{name:16}{best.updates:>8}{best.wall:>8.2f}{best.throughput:>8.0f}"
            f"{1000 * best.quantile(0.5):>8.1f}{1000 * best.quantile(0.95):>8.1f}"
            f"{1000 * max(best.latencies):>8.1f}{cpu:>11}{best.statements / n:>8.1f}"
            f"{best.transactions / n:>7.1f}"
            f"{1000 * best.sql_seconds / n:>11.2f}"
            f"{100 * best.driver_cpu / best.wall:>10.0f}%"
        )
        if len(runs) > 1:
            print(f"{'':16}runs (upd/s): " + ", ".join(f"{r.throughput:.0f}" for r in runs))
        if best.failures:
            reasons: dict[str, int] = defaultdict(int)
            for reason in best.failures:
                reasons[reason] += 1
            print(
                f"{'':16}!! {len(best.failures)} of {best.users} users broke off: "
                + "; ".join(f"{k} x {why}" for why, k in reasons.items())
            )
    ratio = medians["cuibao"] / medians[ECHO]
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    broken = any(r.failures for runs in results.values() for r in runs)
    print(
        f"ratio cuibao/echo throughput: {ratio:.2f} (target >= {TARGET_RATIO}: {verdict})"
        + ("  -- NOT MEANINGFUL: some users broke off, see above" if broken else "")
    )
    if ECHO_SAME in medians:
        print(
            f"ratio cuibao/echo on cuibao's transport: "
            f"{medians['cuibao'] / medians[ECHO_SAME]:.2f} (for information: what "
            "cuibao's own work costs over a bot that does nothing)"
        )
    return ratio


AREAS = (
    (
        "HTTP client (httpx, httpcore, h11, anyio; aiohttp, yarl, multidict)",
        (
            "/httpx/",
            "/httpcore/",
            "/h11/",
            "/anyio/",
            "/urllib/",
            "/aiohttp/",
            "/yarl/",
            "/multidict/",
            "/bot/transport.py",
        ),
    ),
    (
        "cuibao code (handlers, services, domain, bot, storage)",
        ("/handlers/", "/services/", "/domain/", "/bot/", "/storage/", "/scheduler/"),
    ),
    ("SQLAlchemy (ORM, Core, greenlet bridge)", ("/sqlalchemy/", "greenlet")),
    ("aiosqlite: hand-offs to its thread", ("/aiosqlite/", "_queue", "/queue.py", "threading")),
    ("python-telegram-bot", ("/telegram/",)),
    ("imports at run time (importlib)", ("importlib", "<frozen")),
    (
        "asyncio event loop, sockets, epoll",
        ("/asyncio/", "_asyncio", "_contextvars", "_socket", "select.epoll", "selectors"),
    ),
    ("json", ("/json/", "_json")),
    ("babel (i18n)", ("/babel/",)),
)
OTHER = "other"


def _area(key: tuple[str, int, str]) -> str:
    where = f"{key[0]}:{key[2]}"
    return next((name for name, keys in AREAS if any(k in where for k in keys)), OTHER)


def profile_areas(path: Path) -> tuple[dict[str, float], pstats.Stats]:
    """Share of the profiled thread's CPU per area. Built-ins (isinstance, dict.get…) count
    for whoever called them."""
    stats = pstats.Stats(str(path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    seconds: dict[str, float] = defaultdict(float)
    for key, (_cc, _nc, tottime, _ct, callers) in raw.items():
        area = _area(key)
        if area != OTHER or not callers:
            seconds[area] += tottime
            continue
        for caller, timing in callers.items():
            seconds[_area(caller)] += timing[2]
    total = sum(seconds.values()) or 1.0
    return {area: value / total for area, value in seconds.items()}, stats


def print_profiles(profiles: dict[str, tuple[Path, Result]], top: int = 25) -> None:
    """Per update, where each bot's CPU goes: the unprofiled run's CPU split by the
    profiled run's shares (cProfile slows everything, the proportions hold)."""
    shares = {name: profile_areas(path) for name, (path, _) in profiles.items()}
    names = list(profiles)
    print(
        "\nCPU per update, by area (ms; main thread split by cProfile shares, other "
        "threads = SQLite work in aiosqlite's thread):"
    )
    print(f"  {'area':56}" + "".join(f"{n:>16}" for n in names))
    areas = sorted(
        {a for share, _ in shares.values() for a in share},
        key=lambda a: -max(shares[n][0].get(a, 0.0) for n in names),
    )

    def per_update(name: str, area: str) -> float:
        result = profiles[name][1]
        if result.main_cpu is None:
            return float("nan")
        return 1000 * result.main_cpu / result.updates * shares[name][0].get(area, 0.0)

    for area in areas:
        print(f"  {area:56}" + "".join(f"{per_update(n, area):>16.2f}" for n in names))
    print(
        f"  {'other threads':56}"
        + "".join(
            f"{1000 * ((r.bot_cpu or 0) - (r.main_cpu or 0)) / r.updates:>16.2f}"
            for _, r in profiles.values()
        )
    )
    print(
        f"  {'total (measured, unprofiled)':56}"
        + "".join(f"{1000 * (r.bot_cpu or 0) / r.updates:>16.2f}" for _, r in profiles.values())
    )
    if "cuibao" in shares:
        stats = shares["cuibao"][1]
        print(
            f"\ncuibao, top {top} functions by own CPU time (profiled run; cumtime means "
            f"nothing for coroutines, which cProfile counts once per resumption):"
        )
        stats.sort_stats("tottime").print_stats(top)
        print("cuibao's own code by own CPU time:")
        stats.sort_stats("tottime").print_stats(r"/(handlers|services|storage|bot|domain)/", 15)


# ---------------------------------------------------------------------- entry point


ECHO, ECHO_SAME = "echo (bare PTB)", "echo (aiohttp)"
SCENARIOS = {
    "echo": Scenario(ECHO, "echo", prepare_echo, echo_flow),
    "cuibao": Scenario("cuibao", "ours", prepare_ours, ours_flow, check_ours),
}
SAME_TRANSPORT = Scenario(ECHO_SAME, "echo-aiohttp", prepare_echo, echo_flow)


async def main_async(args: argparse.Namespace) -> int:
    results: dict[str, list[Result]] = defaultdict(list)
    load_before = os.getloadavg()[0]
    scenarios = dict(
        SCENARIOS, **({"echo-aiohttp": SAME_TRANSPORT} if args.same_transport else {})
    )
    for _ in range(args.repeat):  # interleaved, so a busy spell hurts both bots alike
        for scenario in scenarios.values():
            results[scenario.name].append(
                await run_scenario(scenario, args.users, args.concurrency)
            )
    ratio = report(results, args.users, args.concurrency, (load_before, os.getloadavg()[0]))
    broken = any(r.failures for runs in results.values() for r in runs)
    if broken and not args.profile:
        print("(no profile of a broken run; use --profile to profile it anyway)")
    elif args.profile or ratio < TARGET_RATIO:
        folder = Path(args.profile_dir or tempfile.gettempdir())
        folder.mkdir(parents=True, exist_ok=True)
        profiles: dict[str, tuple[Path, Result]] = {}
        for key, scenario in SCENARIOS.items():
            out = folder / f"chat-throughput-{key}.prof"
            profiled = await run_scenario(scenario, args.users, args.concurrency, out)
            print(
                f"profiled {scenario.name} run: {profiled.throughput:.0f} upd/s under "
                f"cProfile; stats in {out}"
            )
            unprofiled = sorted(results[scenario.name], key=lambda r: r.throughput)[
                len(results[scenario.name]) // 2
            ]
            profiles[scenario.name] = (out, unprofiled)
        print_profiles(profiles)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1, help="runs per bot; the median counts")
    parser.add_argument(
        "--same-transport",
        action="store_true",
        help="also run the echo bot on cuibao's aiohttp transport",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile cuibao even when the target is met"
    )
    parser.add_argument(
        "--profile-dir", help="where to keep the cProfile stats (default: the temp folder)"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.serve:
        serve(json.loads(args.serve))
        return 0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
