"""What an operator looks at: a health endpoint and Prometheus metrics.

`/healthz` answers 200 with a JSON body when the database answers and the reminder loop is
not failing, else 503 with the same body saying what is wrong. `/metrics` is the
Prometheus text format (updates handled and their latency, nudges sent / blocked / failed,
the update queue's depth, the last reminder run). Served beside the webhook in webhook
mode, and on `[ops] listen` when that is set (polling mode has no server otherwise).
Nothing here carries a person's name or answer."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from storage.database import Database

log = logging.getLogger("cuibao.ops")
HEALTH_TIMEOUT = 3.0  # seconds the database has to answer a health check


@dataclass
class Metrics:
    """One registry per application (tests start several in one process)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.updates = Counter("cuibao_updates", "Updates handled", registry=r)
        self.latency = Histogram(
            "cuibao_update_seconds",
            "Time to handle one update",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.nudges = Counter(
            "cuibao_nudges", "Nudges and digests by outcome", ["outcome"], registry=r
        )
        self.queue = Gauge(
            "cuibao_update_queue_depth", "Updates waiting to be handled", registry=r
        )
        self.oldest = Gauge(
            "cuibao_oldest_update_seconds",
            "Age of the oldest update being waited on or handled",
            registry=r,
        )
        self.slow = Gauge(
            "cuibao_slow_jobs_depth",
            "Slow jobs (exports, 通报, pictures, notices) waiting or running",
            registry=r,
        )
        self.slow_oldest = Gauge(
            "cuibao_oldest_slow_job_seconds",
            "Age of the oldest slow job waiting or running",
            registry=r,
        )
        self.reminder_run = Gauge(
            "cuibao_reminder_last_run_timestamp",
            "When the last reminder run ended (Unix time)",
            registry=r,
        )
        self.reminder_failures = Gauge(
            "cuibao_reminder_failures_in_a_row", "Reminder runs that failed in a row", registry=r
        )
        self.in_flight: dict[int, float] = {}  # update id -> monotonic start
        self.last_reminder_run: float | None = None  # Unix time
        self.reminder_failures_in_a_row = 0

    def started(self, key: int) -> None:
        self.in_flight[key] = time.monotonic()

    def finished(self, key: int) -> None:
        began = self.in_flight.pop(key, None)
        if began is not None:
            self.latency.observe(time.monotonic() - began)
        self.updates.inc()

    def oldest_seconds(self) -> float:
        now = time.monotonic()
        return max((now - t for t in self.in_flight.values()), default=0.0)

    def reminder_report(self, sent: int, blocked: int, failed: int) -> None:
        self.nudges.labels("sent").inc(sent)
        self.nudges.labels("blocked").inc(blocked)
        self.nudges.labels("failed").inc(failed)
        self.last_reminder_run = time.time()
        self.reminder_failures_in_a_row = 0
        self.reminder_run.set(self.last_reminder_run)
        self.reminder_failures.set(0)

    def reminder_failed(self, in_a_row: int) -> None:
        self.reminder_failures_in_a_row = in_a_row
        self.reminder_failures.set(in_a_row)


@dataclass
class Health:
    database: Database
    metrics: Metrics
    # () -> (updates waiting or in hand, age of the oldest in seconds): the in-process
    # queue's, or the durable queue's when several processes share one
    queue: Callable[[], Awaitable[tuple[int, float]]]
    reminders_enabled: bool = True
    failing_after: int = 3  # reminder runs failed in a row before the check says so
    # () -> (slow jobs waiting or running, age of the oldest): the durable queue's slow
    # jobs (`--role jobs` takes them), where several processes share one
    slow: Callable[[], Awaitable[tuple[int, float]]] | None = None

    async def check(self) -> tuple[bool, dict[str, Any]]:
        body: dict[str, Any] = {}
        ok = True
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), self.database.sessions() as s:
                await s.execute(text("SELECT 1"))
            body["database"] = "ok"
        except Exception as exc:  # whatever it is, the check says so and stays up
            ok = False
            body["database"] = f"unreachable: {type(exc).__name__}"
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                depth, oldest = await self.queue()
        except Exception as exc:  # the queue lives in the database: said like it
            ok = False
            depth, oldest = -1, 0.0
            body["queue"] = f"unreachable: {type(exc).__name__}"
        self.metrics.queue.set(depth)
        self.metrics.oldest.set(oldest)
        body["queue_depth"] = depth
        body["oldest_update_seconds"] = round(oldest, 3)
        if self.slow is not None:
            try:
                async with asyncio.timeout(HEALTH_TIMEOUT):
                    slow_depth, slow_oldest = await self.slow()
                self.metrics.slow.set(slow_depth)
                self.metrics.slow_oldest.set(slow_oldest)
                body["slow_jobs"] = {"depth": slow_depth, "oldest_seconds": round(slow_oldest, 3)}
            except Exception as exc:
                ok = False
                body["slow_jobs"] = f"unreachable: {type(exc).__name__}"
        if self.reminders_enabled:
            failures = self.metrics.reminder_failures_in_a_row
            last = self.metrics.last_reminder_run
            body["reminders"] = {"last_run": last, "failures_in_a_row": failures}
            if failures >= self.failing_after:
                ok = False
        body["status"] = "ok" if ok else "failing"
        return ok, body


_KEY = "cuibao.metrics"


_HEALTH = "cuibao.health"
_SERVER = "cuibao.ops_server"


def install_health(app: Any, health: Health) -> None:
    app.bot_data[_HEALTH] = health


def health_routes(server: web.Application, app: Any) -> None:
    """/healthz and /metrics on `server`, for the health the application installs once its
    database is open (503 until then)."""

    async def healthz(_request: web.Request) -> web.Response:
        health = app.bot_data.get(_HEALTH)
        if not isinstance(health, Health):
            return web.Response(
                status=503, text='{"status": "starting"}', content_type="application/json"
            )
        ok, body = await health.check()
        return web.Response(
            status=200 if ok else 503, text=json.dumps(body), content_type="application/json"
        )

    async def metrics(_request: web.Request) -> web.Response:
        health = app.bot_data.get(_HEALTH)
        if isinstance(health, Health):
            await health.check()  # refreshes the gauges read at scrape time
        data = generate_latest(metrics_of(app).registry)
        return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})

    server.router.add_get("/healthz", healthz)
    server.router.add_get("/metrics", metrics)


async def start_ops_server(app: Any, listen: str) -> None:
    """Serve /healthz and /metrics on `listen` (host:port) until `stop_ops_server`."""
    host, _, port = listen.rpartition(":")
    server = web.Application()
    health_routes(server, app)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host or "127.0.0.1", int(port)).start()
    app.bot_data[_SERVER] = runner
    log.info("health and metrics on http://%s/healthz and /metrics", listen)


async def stop_ops_server(app: Any) -> None:
    runner = app.bot_data.pop(_SERVER, None)
    if isinstance(runner, web.AppRunner):
        await runner.cleanup()


def metrics_of(app: Any) -> Metrics:
    """The application's metrics (made on first use)."""
    found = app.bot_data.get(_KEY)
    if not isinstance(found, Metrics):
        found = app.bot_data[_KEY] = Metrics()
    return found


def install_metrics(app: Any, metrics: Metrics) -> None:
    app.bot_data[_KEY] = metrics


class JsonLines(logging.Formatter):
    """One JSON object per log line (`[ops] log_format = "json"`), for a log collector:
    time, level, logger, message and, for an error, its exception (never an update)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class NoJobArguments(logging.Filter):
    """procrastinate names a job with its arguments, and a queued update's are the whole
    update (names, answers): logged as `cuibao.update[12](…)` instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("procrastinate"):
            message = record.getMessage()
            start = message.find("(update=")
            if start >= 0:
                end = message.rfind(")")
                record.msg = message[:start] + "(…)" + message[end + 1 :]
                record.args = None
        return True


def configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(NoJobArguments())
    # Two lines per update at INFO; what goes wrong is still said.
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    handler.setFormatter(
        JsonLines()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
