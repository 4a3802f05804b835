"""CPU-heavy work (reading a notice, building a workbook) in a worker process, with limits.

The bot serves every chat from one event loop: a job that holds the CPU (and the GIL) for
a minute there makes everyone wait that minute. A job here runs a plain, synchronous,
importable function in a freshly spawned process (never forked: the bot has threads),
under an address-space limit (`RLIMIT_AS`, so a decompression bomb ends in MemoryError
instead of swapping the host) and a wall-clock timeout (the process is killed). An
exception the function raises reaches the caller as itself (a refusal with its message
key); running out of memory, time or the process dying is a `JobFailed`.

`Jobs` keeps heavy work in check across users: at most `workers` processes at once;
later ones wait their turn (one job per person is conversation.slow's rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import resource
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("cuibao.jobs")
_SPAWN = multiprocessing.get_context("spawn")
NICENESS = 10  # added to a worker's nice value


class Failure(StrEnum):
    MEMORY = "memory"  # the job passed its memory limit
    TIMEOUT = "timeout"  # the job ran past its time limit and was stopped
    CRASHED = "crashed"  # the worker died or raised something it could not send back


class JobFailed(Exception):
    """The job was stopped or died; nothing it would have returned exists."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.value)
        self.failure = failure


@dataclass(frozen=True)
class Limits:
    memory_mb: int  # address space of the worker process, interpreter included
    seconds: float  # wall clock, start-up included


@dataclass(frozen=True)
class Finished:
    """A job's value with what it cost."""

    value: Any
    seconds: float
    peak_rss_mb: float  # the worker's peak resident memory


async def run(function: Callable[..., T], *args: Any, limits: Limits) -> T:
    """`function(*args)` in a worker process; its value, or its own exception."""
    finished = await run_measured(function, *args, limits=limits)
    value: T = finished.value
    return value


async def run_measured(function: Callable[..., Any], *args: Any, limits: Limits) -> Finished:
    """As `run`, with the time and the worker's peak memory (for benchmarks and logs)."""
    receiver, sender = _SPAWN.Pipe(duplex=False)
    process = _SPAWN.Process(
        target=_work,
        args=(sender, function, args, limits.memory_mb),
        daemon=True,
        name=f"cuibao-job-{function.__name__}",
    )
    started = time.monotonic()
    try:
        # Not on the loop: starting writes the arguments (a 2 MB notice) into a pipe the
        # new interpreter reads only once it is up, a second on a busy machine.
        await asyncio.to_thread(process.start)
    finally:
        sender.close()  # the child holds its end: EOF here means it is gone
    try:
        reply = await asyncio.to_thread(_wait, receiver, limits.seconds)
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        await asyncio.to_thread(process.join)
        process.close()
    seconds = time.monotonic() - started
    match reply:
        case ("ok", value, peak):
            return Finished(value, seconds, peak)
        case ("raised", exc, _):
            raise exc
        case ("failed", failure, _):
            log.warning("job %s failed: %s after %.1f s", function.__name__, failure, seconds)
            raise JobFailed(failure)
    raise JobFailed(Failure.CRASHED)  # pragma: no cover - a reply of another shape


def _wait(receiver: Connection, seconds: float) -> tuple[Any, ...]:
    """The worker's reply; a failure when it takes too long, dies or sends garbage."""
    try:
        if not receiver.poll(seconds):
            return ("failed", Failure.TIMEOUT, 0.0)
        reply: tuple[Any, ...] = receiver.recv()
        return reply
    except (EOFError, OSError, pickle.UnpicklingError, AttributeError, TypeError):
        return ("failed", Failure.CRASHED, 0.0)


def _work(
    sender: Connection, function: Callable[..., Any], args: tuple[Any, ...], memory_mb: int
) -> None:
    """The worker process: limit itself, run, send back one reply."""
    # A service manager stops the whole group (systemd's default KillMode): the parent
    # decides whether the job ends, so a SIGTERM meant for it must not kill the job.
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    limit = memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):  # a platform without RLIMIT_AS
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Below the bot in the CPU queue: on a small machine the chats are served first.
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    try:
        reply: tuple[Any, ...] = ("ok", function(*args))
    except MemoryError:
        reply = ("failed", Failure.MEMORY)
    except Exception as exc:
        reply = ("raised", exc)
    peak = _peak_rss_mb()
    try:
        sender.send((*reply, peak))
    except (pickle.PicklingError, TypeError, AttributeError):
        sender.send(("failed", Failure.CRASHED, peak))
    except MemoryError:
        sender.send(("failed", Failure.MEMORY, peak))
    finally:
        sender.close()


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's ru_maxrss would also count the parent
    that forked it (the high-water mark survives exec), so VmHWM is read where it exists."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Jobs:
    """Heavy jobs across users: at most `workers` processes at once, later ones wait."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self._workers = asyncio.Semaphore(workers)

    async def run(self, function: Callable[..., T], *args: Any, limits: Limits) -> T:
        """`function(*args)` in a worker once one is free (see `run`)."""
        async with self._workers:
            return await run(function, *args, limits=limits)
