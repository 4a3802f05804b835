"""Whether one coordinator's heavy request stalls everyone else.

    python bench/heavy_jobs.py [--units 3000] [--deadlines 150] [--others 10]
        [--skip-export]

The real bot (`build_application`, as `cuibao run` builds it, in a child process of its
own) serves a campaign of `--units` units × `--deadlines` deadlines of submissions on
SQLite (seeded as bench/export.py does) against a fakegram server in this process. While
`--others` liaison officers each send /tasks over and over (waiting for each reply), the
coordinator:

- sends a 2 MB .txt notice (refused past the character bound, in the worker);
- sends a notice at the character bound (~190,000 characters), read in full;
- sends a 155 KB .docx of 1.2 million empty paragraphs;
- asks for /export, and the bench waits for the workbook (or the refusal).

For each phase it prints the others' reply latency (p50, p95, max: targets p95 < 1 s,
max < 2 s) and how long the coordinator waited. Then, apart from the bot, the worker's
peak resident memory for each notice (services.jobs.run_measured; target < 200 MB for
the 2 MB notice). A baseline phase with no heavy request comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import io
import json
import signal
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fakegram import ChatMessage, FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
NOTICES = ROOT / "tests" / "data" / "notices"
COORDINATOR = 900_001
FIRST_OTHER = 4_000_001
NOW = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)
P95_TARGET, MAX_TARGET, MEMORY_TARGET_MB = 1.0, 2.0, 200.0
REPLY_TIMEOUT = 600.0


def notice_of(characters: int) -> bytes:
    """Real notices one after another, cut at `characters`; UTF-8."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(NOTICES.glob("*.txt"))]
    whole = "\n".join(texts)
    return (whole * (characters // len(whole) + 1))[:characters].encode("utf-8")


def notice_of_bytes(size: int) -> bytes:
    text = notice_of(size).decode("utf-8", errors="ignore")
    data = text.encode("utf-8")
    while len(data) > size:
        text = text[: len(text) * size // len(data) - 1]
        data = text.encode("utf-8")
    return data


def docx_of_paragraphs(count: int) -> bytes:
    from docx import Document

    buffer = io.BytesIO()
    Document().save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                head, _, tail = data.decode().partition("<w:body>")
                data = (head + "<w:body>" + "<w:p/>" * count + tail).encode()
            target.writestr(info, data, zipfile.ZIP_DEFLATED, 9)
    return out.getvalue()


# ---------------------------------------------------------------------- the world


async def prepare(tmp: Path, units: int, deadlines: int, others: list[int]) -> str:
    if str(ROOT) not in sys.path:  # run as a script: bench/ is not a package on the path
        sys.path.insert(0, str(ROOT))
    from bench.export import CODE, seed
    from services.access import AccessService
    from storage.database import Database

    db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    async with Database.open(db_url) as db:
        await seed(db, units, deadlines)
        access = AccessService(db.sessions)
        codes = [f"u{i:05d}" for i in range(len(others))]
        invites = await access.create_invites(CODE, NOW, 14, codes)
        for user_id, invite in zip(others, invites, strict=True):
            actor = await access.identify(str(user_id), f"联络员{user_id}", None, NOW)
            await access.redeem(invite.token, actor, NOW)
    return db_url


def serve(spec: dict[str, Any]) -> None:
    """Child process: the bot exactly as `cuibao run` builds it, polling until SIGINT."""
    from pydantic import SecretStr
    from telegram import Update

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
        bot=BotSettings(
            api_base_url=spec["base_url"],
            api_file_url=spec["file_url"],
            coordinators=(COORDINATOR,),
        ),
        database=DatabaseSettings(url=spec["db_url"]),
        files=FileSettings(dir=spec["files_dir"]),
        rate_limit=RateLimitSettings(overall_per_second=1_000_000),
        reminders=ReminderSettings(enabled=False),
        base_dir=Path(spec["tmp"]),
        token=SecretStr(spec["token"]),
    )
    app = build_application(settings, clock=lambda: NOW)
    app.run_polling(allowed_updates=Update.ALL_TYPES)


# ---------------------------------------------------------------------- measuring


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    waited: float = 0.0  # the coordinator's wait for the answer
    answer: str = ""

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def reply_after(
    fake: FakeTelegram, user_id: int, inject: Callable[[], object], seconds: float = REPLY_TIMEOUT
) -> tuple[ChatMessage, float]:
    chat = fake.chat(user_id)
    started = time.perf_counter()
    inject()
    mark = chat.next_message_id  # after the user's message, which took the id before
    await fake.wait_until(
        lambda: chat.next_message_id > mark, seconds, describe=f"a reply to {user_id}"
    )
    return chat.messages[mark], time.perf_counter() - started


async def others_ping(
    fake: FakeTelegram, others: list[int], phase: Phase, stop: asyncio.Event
) -> None:
    async def one(user_id: int) -> None:
        while not stop.is_set():
            _, latency = await reply_after(
                fake, user_id, lambda: fake.send_command(user_id, "tasks"), 60.0
            )
            phase.latencies.append(latency)

    await asyncio.gather(*(one(u) for u in others))


async def during(
    fake: FakeTelegram, others: list[int], name: str, heavy: Callable[[], Any]
) -> Phase:
    """Run `heavy` (the coordinator's request, awaited to its answer) while the others
    ping; at least two seconds of pings for a phase with nothing heavy."""
    phase = Phase(name)
    stop = asyncio.Event()
    pings = asyncio.ensure_future(others_ping(fake, others, phase, stop))
    await asyncio.sleep(0.5)  # the others are going
    started = time.perf_counter()
    phase.answer = await heavy()
    phase.waited = time.perf_counter() - started
    stop.set()
    await pings
    return phase


async def coordinator_document(fake: FakeTelegram, data: bytes, name: str) -> str:
    """The notice sent; what its progress message ("正在读取通知…") says once it was read
    or refused (a slow job)."""
    progress, _ = await reply_after(
        fake, COORDINATOR, lambda: fake.send_document(COORDINATOR, data, name)
    )
    done = await fake.wait_until(
        lambda: progress if progress.edits else None, REPLY_TIMEOUT, describe="the notice read"
    )
    return (done.text or "").split("\n")[0][:60]


async def coordinator_export(fake: FakeTelegram) -> str:
    progress, _ = await reply_after(
        fake, COORDINATOR, lambda: fake.send_command(COORDINATOR, "export")
    )
    chat = fake.chat(COORDINATOR)

    def finished() -> ChatMessage | None:
        documents = [
            m
            for m in chat.messages.values()
            if m.document is not None and m.from_bot and m.message_id > progress.message_id
        ]
        return documents[-1] if documents else (progress if progress.edits else None)

    done = await fake.wait_until(finished, REPLY_TIMEOUT, describe="the workbook")
    if done.document is not None:
        return f"{done.document.file_name} ({len(done.document.data) / 1e6:.1f} MB)"
    return (done.text or "")[:80]


# ---------------------------------------------------------------------- the run


async def run(args: argparse.Namespace) -> None:
    others = [FIRST_OTHER + i for i in range(args.others)]
    notices = {
        "2 MB .txt notice": (notice_of_bytes(2 * 1024 * 1024 - 1024), "大通知.txt"),
        "190k-char notice": (notice_of(190_000), "长通知.txt"),
        "1.2 M-paragraph .docx": (docx_of_paragraphs(1_200_000), "通知.docx"),
    }
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="cuibao-heavy-") as name:
        tmp = Path(name)
        started = time.perf_counter()
        db_url = await prepare(tmp, args.units, args.deadlines, others)
        print(
            f"seeded {args.units} units x {args.deadlines} deadlines in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        async with FakeTelegram() as fake:
            fake.add_user(COORDINATOR, "王协调")
            for user_id in others:
                fake.add_user(user_id, f"联络员{user_id}")
            spec = {
                "base_url": fake.base_url,
                "file_url": fake.base_file_url,
                "token": fake.token,
                "db_url": db_url,
                "files_dir": str(tmp / "files"),
                "tmp": str(tmp),
            }
            child = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--serve", json.dumps(spec)
            )
            try:
                await reply_after(
                    fake, others[0], lambda: fake.send_command(others[0], "tasks"), 120.0
                )
                phases.append(
                    await during(
                        fake, others, "baseline (nothing heavy)", lambda: asyncio.sleep(3, "")
                    )
                )
                for label, (data, file_name) in notices.items():
                    phases.append(
                        await during(
                            fake,
                            others,
                            f"{label} ({len(data) / 1024:.0f} KB)",
                            functools.partial(coordinator_document, fake, data, file_name),
                        )
                    )
                    print(f"  {phases[-1].name}: done", flush=True)
                if not args.skip_export:
                    phases.append(
                        await during(
                            fake,
                            others,
                            f"/export {args.units} x {args.deadlines}",
                            lambda: coordinator_export(fake),
                        )
                    )
            finally:
                if child.returncode is None:
                    child.send_signal(signal.SIGINT)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(child.wait(), 60)
    print(f"\nothers: {args.others} liaisons sending /tasks back to back; latency per reply")
    print(
        f"{'phase':44}{'replies':>8}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'coord. s':>9}  answer"
    )
    for p in phases:
        met = p.quantile(0.95) < P95_TARGET and max(p.latencies, default=0) < MAX_TARGET
        print(
            f"{p.name:44}{len(p.latencies):>8}{1000 * p.quantile(0.5):>8.0f}"
            f"{1000 * p.quantile(0.95):>8.0f}{1000 * max(p.latencies, default=0):>8.0f}"
            f"{p.waited:>9.1f}  {'' if met else '[MISSED] '}{p.answer}"
        )
    print(f"(targets: p95 < {P95_TARGET * 1000:.0f} ms, max < {MAX_TARGET * 1000:.0f} ms)")
    await worker_memory(notices)


async def worker_memory(notices: dict[str, tuple[bytes, str]]) -> None:
    from conversation.notices import NOTICE_LIMITS, read_notice
    from services.jobs import JobFailed, run_measured

    print(
        "\nthe notice worker alone (services.jobs, limits "
        f"{NOTICE_LIMITS.memory_mb} MB / {NOTICE_LIMITS.seconds:.0f} s):"
    )
    for label, (data, file_name) in notices.items():
        try:
            finished = await run_measured(read_notice, data, file_name, limits=NOTICE_LIMITS)
            outcome = f"{len(finished.value.extraction.obligations)} obligations"
            peak, seconds = finished.peak_rss_mb, finished.seconds
        except JobFailed as exc:
            outcome, peak, seconds = f"failed: {exc}", float("nan"), float("nan")
        except Exception as exc:  # a refusal (NoticeError) with its key
            outcome, peak, seconds = f"refused: {exc}", float("nan"), float("nan")
            with contextlib.suppress(Exception):
                finished = await run_measured(_refused_peak, data, file_name, limits=NOTICE_LIMITS)
                peak, seconds = finished.peak_rss_mb, finished.seconds
        flag = "" if not peak > MEMORY_TARGET_MB else " [over target]"
        print(f"  {label:26} {seconds:6.2f} s  peak {peak:6.1f} MB{flag}  {outcome}")
    print(f"(target: peak < {MEMORY_TARGET_MB:.0f} MB)")


def _refused_peak(data: bytes, name: str) -> str:
    """read_notice, its refusal caught in the worker so that its peak memory comes back."""
    from conversation.notices import NoticeError, read_notice

    try:
        read_notice(data, name)
    except NoticeError as exc:
        return str(exc)
    return "read"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--deadlines", type=int, default=150)
    parser.add_argument("--others", type=int, default=10)
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.serve:
        serve(json.loads(args.serve))
        return 0
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
