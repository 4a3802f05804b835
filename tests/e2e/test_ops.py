"""What an operator sees: /healthz says whether the database answers and the reminders
work, /metrics counts updates, their latency and nudges, in the Prometheus format."""

from __future__ import annotations

import json
import logging
import socket
import sys
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from bot.ops import JsonLines, metrics_of
from bot.webhook import webhook_app
from tests.e2e.conftest import CAMPAIGN_DAY
from tests.e2e.harness import COORDINATOR, running_bot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_health_and_metrics_are_served_and_turn_red_when_reminders_keep_failing(
    tmp_path: Path,
) -> None:
    port = free_port()
    ops = {"listen": f"127.0.0.1:{port}"}
    reminders = {"enabled": True, "digest_at": "off"}  # nobody is bound: nothing to send
    async with (
        running_bot(tmp_path, CAMPAIGN_DAY, ops=ops, reminders=reminders) as bot,
        aiohttp.ClientSession() as http,
    ):
        await bot.command(COORDINATOR, "status")
        base = f"http://127.0.0.1:{port}"
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
            body = json.loads(await response.text())
        assert body["database"] == "ok" and body["status"] == "ok"
        assert body["queue_depth"] == 0
        async with http.get(f"{base}/metrics") as response:
            metrics = await response.text()
        handled = next(
            line for line in metrics.splitlines() if line.startswith("cuibao_updates_total ")
        )
        assert float(handled.split()[1]) >= 1
        assert "cuibao_update_seconds_bucket" in metrics
        assert "王协调" not in metrics  # no names, no content

        metrics_of(bot.app).reminder_failed(3)
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 503
            body = json.loads(await response.text())
        assert body["status"] == "failing"
        assert body["reminders"]["failures_in_a_row"] == 3


async def test_the_webhook_server_answers_health_checks_beside_the_webhook(tmp_path: Path) -> None:
    async with (
        running_bot(tmp_path, CAMPAIGN_DAY) as bot,
        TestClient(TestServer(webhook_app(bot.app, "s3cret"))) as client,
    ):
        health = await client.get("/healthz")
        assert health.status == 200
        assert (await health.json())["database"] == "ok"
        scraped = await client.get("/metrics")
        assert "cuibao_update_queue_depth" in await scraped.text()
        # The webhook itself still refuses a post without the secret.
        assert (await client.post("/any/path", data=b"{}")).status == 403


def test_json_log_lines_carry_the_message_and_the_exception_but_nothing_else() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "cuibao.errors", logging.ERROR, __file__, 1, "update %s failed", (42,), sys.exc_info()
        )
    line = json.loads(JsonLines().format(record))
    assert set(line) == {"time", "level", "logger", "message", "exception"}
    assert line["message"] == "update 42 failed" and line["level"] == "ERROR"
    assert "ValueError: boom" in line["exception"]
