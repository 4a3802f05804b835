"""Fixtures for the fakegram tests: a fresh server per test and real PTB clients on it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot
from telegram.ext import Application

from bot.transport import AiohttpRequest
from fakegram import FakeTelegram

PtbApp = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the opt-in, building a RetryAfter emits PTBDeprecationWarning, which
    # filterwarnings=error turns into an exception replacing the RetryAfter itself.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture(params=["httpx", "aiohttp"])
async def bot(fake: FakeTelegram, request: pytest.FixtureRequest) -> AsyncIterator[Bot]:
    """A PTB Bot on the fake, once with PTB's own transport (form-encoded bodies over
    httpx) and once with the one cuibao runs on (JSON bodies over aiohttp)."""
    transport: dict[str, Any] = {}
    if request.param == "aiohttp":
        transport = {"request": AiohttpRequest(), "get_updates_request": AiohttpRequest(1)}
    async with Bot(
        fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url, **transport
    ) as client:
        yield client


@contextlib.asynccontextmanager
async def polling(app: PtbApp) -> AsyncIterator[PtbApp]:
    """Run ``app`` with long polling against the fake; always shut it down."""
    await app.initialize()
    try:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=2)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    finally:
        await app.shutdown()
