"""Heavy work in a worker process: its value or its own exception comes back; past its
memory or time limit it is stopped and says which."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from conversation.notices import NoticeError
from services.jobs import Failure, JobFailed, Limits, run, run_measured

LIMITS = Limits(memory_mb=512, seconds=60.0)


def _square(n: int) -> int:
    return n * n


def _refuse() -> None:
    raise NoticeError("too_long", characters=3, max_characters=2)


def _hog() -> bytes:
    return bytes(1024 * 1024 * 1024)


def _sleep() -> None:
    time.sleep(30)


def _square_slowly(n: int) -> int:
    time.sleep(3)
    return n * n


async def test_a_job_returns_its_value_and_what_it_cost() -> None:
    finished = await run_measured(_square, 12, limits=LIMITS)

    assert finished.value == 144
    assert 0 < finished.peak_rss_mb < 512


async def test_a_refusal_raised_in_the_worker_arrives_as_itself_with_its_params() -> None:
    with pytest.raises(NoticeError) as caught:
        await run(_refuse, limits=LIMITS)

    assert str(caught.value) == "too_long"
    assert caught.value.params == {"characters": 3, "max_characters": 2}


async def test_a_job_past_its_memory_limit_fails_as_memory() -> None:
    with pytest.raises(JobFailed) as caught:
        await run(_hog, limits=Limits(memory_mb=256, seconds=60.0))

    assert caught.value.failure is Failure.MEMORY


async def test_a_job_past_its_time_limit_is_stopped() -> None:
    started = time.monotonic()
    with pytest.raises(JobFailed) as caught:
        await run(_sleep, limits=Limits(memory_mb=512, seconds=3.0))

    assert caught.value.failure is Failure.TIMEOUT
    assert time.monotonic() - started < 25


async def test_a_sigterm_meant_for_the_whole_group_leaves_the_job_to_its_parent() -> None:
    """A service manager stopping the group (systemd's default KillMode) signals the
    worker too: the bot decides whether the job ends (it finishes it, or gives it back)."""
    job = asyncio.create_task(run(_square_slowly, 12, limits=LIMITS))
    async with asyncio.timeout(30):
        # A child process's start: no event to wait on.
        while not (children := multiprocessing.active_children()):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # up, and past setting its signals
    for child in children:
        os.kill(child.pid or 0, signal.SIGTERM)

    assert await job == 144


def test_the_worker_modules_do_not_import_telegram() -> None:
    code = (
        "import sys, conversation.notices, conversation.chat_export; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'telegram'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"
