"""Chat updates through a durable job queue on the PostgreSQL cuibao already runs.

Several processes behind one webhook: whichever receives an update stores it as a
procrastinate job and acknowledges; workers in any process take jobs, one person's at a
time and in the order they arrived (the job's lock is the chat), different people's in
parallel. A worker that dies mid-update stops sending heartbeats; another process gives
its jobs back to the queue after `stalled_after` seconds, so nothing is lost.

Handled at least once, applied once: `storage.handled` records an update in the same
transaction as its first write, and a second run of the same update (a retried job, or
a redelivery Telegram made because an acknowledgement was lost) skips it.

procrastinate was chosen over Redis Streams, RabbitMQ and NATS JetStream (all on the
machine): it needs no second server to run, back up and watch, its per-key locks are
exactly "one person at a time, in order", and jobs commit in the same PostgreSQL whose
backup already covers the rest. On SQLite (one process) the in-process processor stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import procrastinate
import psycopg
from sqlalchemy.engine import make_url

from conversation.slow import SlowJob

log = logging.getLogger("cuibao.queue")

QUEUE = "updates"
TASK = "cuibao.update"
# Slow jobs (exports, 通报, pictures, notices: conversation.slow) wait in a queue of
# their own, taken by their own workers (`cuibao run --role jobs`), so that they never
# hold a chat worker. Locked by person: one exclusive job of a person at a time.
SLOW_QUEUE = "slow"
SLOW_TASK = "cuibao.slow"
# Taken under this advisory lock: two processes starting at once create the schema once.
_SCHEMA_LOCK = 0x637569626130  # "cuiba0"

# procrastinate wakes workers when a job is inserted, not when a locked one finishes: a
# person's next update, inserted while the previous one was in hand, would wait for the
# next poll (a second per answer for someone who types fast). This trigger wakes the
# workers as soon as a finished job leaves another of the same person waiting.
_WAKE_NEXT = """
CREATE OR REPLACE FUNCTION cuibao_wake_next_in_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.lock IS NOT NULL AND OLD.status = 'doing'
       AND (TG_OP = 'DELETE' OR NEW.status <> 'doing')
       AND EXISTS (SELECT 1 FROM procrastinate_jobs
                    WHERE lock = OLD.lock AND status = 'todo') THEN
        PERFORM pg_notify('procrastinate_queue_v1#' || OLD.queue_name,
                          json_build_object('type', 'job_inserted', 'job_id', OLD.id)::text);
    END IF;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE TRIGGER cuibao_wake_next_in_lock
    AFTER UPDATE OF status OR DELETE ON procrastinate_jobs
    FOR EACH ROW EXECUTE FUNCTION cuibao_wake_next_in_lock();
"""

# (platform, the person's lock key or None, the update)
Handler = Callable[[str, str | None, dict[str, Any]], Awaitable[None]]
# (a SlowJob as JSON, whether to give it up: it was cut off too often)
SlowHandler = Callable[[dict[str, Any], bool], Awaitable[None]]


@dataclass(frozen=True)
class QueueState:
    depth: int  # updates waiting or being handled
    oldest_seconds: float  # age of the oldest of them (0 when none)


def conninfo(database_url: str) -> str:
    """psycopg's connection string for cuibao's SQLAlchemy URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the update queue needs PostgreSQL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _attempts(context: procrastinate.JobContext) -> int:
    return context.job.attempts if context.job is not None else 0


def _lock(platform: str, chat: str | None) -> str | None:
    return f"{platform}:{chat}" if chat is not None else None


# A job that has been cut off this often (its process stopped or died while it ran) is
# not tried again: an update is dropped (logged), a slow job's person is told it will not
# be done. A job that kills whichever process takes it must not go round for ever.
GIVE_UP_AFTER = 3


class AgainAfterShutdown(procrastinate.BaseRetryStrategy):
    """A job cut off because its process stopped (SIGTERM, and it ran past the grace
    time) goes back to the queue for another process; one that ended any other way is
    not tried again. An update run twice is applied once (storage.handled); a slow job
    starts again from the beginning. The run after GIVE_UP_AFTER attempts only gives up
    (UpdateQueue._run, _run_slow), so it too is given back once if cut off."""

    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate.jobs.Job
    ) -> procrastinate.RetryDecision | None:
        cut_off = asyncio.CancelledError | procrastinate.exceptions.JobAborted
        if not isinstance(exception, cut_off) or job.attempts > GIVE_UP_AFTER:
            return None
        return procrastinate.RetryDecision(retry_in={"seconds": 0})


class UpdateQueue:
    slow_queue = SLOW_QUEUE

    def __init__(
        self, database_url: str, *, stalled_after: float = 30.0, slow_grace: float = 60.0
    ) -> None:
        self._conninfo = conninfo(database_url)
        self.stalled_after = stalled_after
        # How long a stopping process lets its slow jobs finish (an export takes a while)
        # before it gives them back; its updates get `stalled_after`.
        self.slow_grace = slow_grace
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=self._conninfo)
        )
        self._handler: Handler | None = None
        self._slow: SlowHandler | None = None
        again = AgainAfterShutdown()
        self.app.task(name=TASK, queue=QUEUE, retry=again, pass_context=True)(self._run)
        self.app.task(name=SLOW_TASK, queue=SLOW_QUEUE, retry=again, pass_context=True)(
            self._run_slow
        )

    async def _run(
        self,
        context: procrastinate.JobContext,
        platform: str,
        update: dict[str, Any],
        chat: str | None = None,
    ) -> None:
        if self._handler is None:
            raise RuntimeError("this process does not handle updates")
        if _attempts(context) >= GIVE_UP_AFTER:
            # Only its number: the update itself may hold a person's answers.
            log.error(
                "a %s update (%s) was cut off %d times; dropped",
                platform,
                update.get("update_id"),
                _attempts(context),
            )
            return
        await self._handler(platform, chat, update)

    async def _run_slow(self, context: procrastinate.JobContext, job: dict[str, Any]) -> None:
        if self._slow is None:
            raise RuntimeError("this process does not run slow jobs")
        await self._slow(job, _attempts(context) >= GIVE_UP_AFTER)

    async def open(self) -> None:
        await self._ensure_schema()
        await self.app.open_async()

    async def close(self) -> None:
        await self.app.close_async()

    async def _ensure_schema(self) -> None:
        connection = await psycopg.AsyncConnection.connect(self._conninfo)
        async with connection as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            cursor = await conn.execute("SELECT to_regclass('procrastinate_jobs')")
            row = await cursor.fetchone()
            if row is None or row[0] is None:
                log.info("creating the update queue's tables (procrastinate)")
                await conn.execute(self.app.schema_manager.get_schema())
            await conn.execute(_WAKE_NEXT)

    async def put(self, platform: str, chat: str | None, update: dict[str, Any]) -> None:
        """Store one update; committed when this returns (then acknowledge it)."""
        await self.app.configure_task(TASK, lock=_lock(platform, chat)).defer_async(
            platform=platform, update=update, chat=chat
        )

    async def waiting(self, platform: str, chat: str) -> list[dict[str, Any]]:
        """The person's updates stored and not yet taken, as `put` got them."""
        rows = await self.app.connector.execute_query_all_async(
            """
            SELECT args FROM procrastinate_jobs
             WHERE queue_name = %(queue)s AND lock = %(lock)s AND status = 'todo'
            """,
            queue=QUEUE,
            lock=_lock(platform, chat),
        )
        return [dict(row["args"]["update"]) for row in rows]

    def forwarder(self, platform: str) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
        """`put` for one platform: (the person's id, the update)."""

        async def forward(chat: str, update: dict[str, Any]) -> None:
            await self.put(platform, chat, update)

        return forward

    async def work(
        self,
        stop: asyncio.Event,
        *,
        updates: Handler | None = None,
        concurrency: int = 16,
        slow: SlowHandler | None = None,
        slow_concurrency: int = 2,
    ) -> None:
        """Handle updates and/or run slow jobs (each queue with workers of its own) until
        `stop` is set, then finish the ones in hand (updates within `stalled_after`, slow
        jobs within `slow_grace`) and return; a job still running then is given back
        (AgainAfterShutdown)."""
        self._handler, self._slow = updates, slow
        heartbeat = max(0.5, self.stalled_after / 4)
        taken = [
            (QUEUE, updates, concurrency, self.stalled_after),
            (SLOW_QUEUE, slow, slow_concurrency, self.slow_grace),
        ]
        workers = [
            asyncio.create_task(
                self.app.run_worker_async(
                    queues=[queue],
                    concurrency=count,
                    name=f"cuibao-{queue}",
                    install_signal_handlers=False,
                    update_heartbeat_interval=heartbeat,
                    stalled_worker_timeout=self.stalled_after,
                    shutdown_graceful_timeout=grace,
                    # A job that failed for good is logged; its row would keep what it
                    # carried (an update's answers, a notice's bytes) for nothing.
                    delete_jobs="always",
                    listen_notify=True,
                    fetch_job_polling_interval=1.0,
                ),
                name=f"cuibao-{queue}-worker",
            )
            for queue, handler, count, grace in taken
            if handler is not None
        ]
        rescuer = asyncio.create_task(self._rescue_forever(stop), name="cuibao-stalled-jobs")
        try:
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({*workers, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
        finally:
            rescuer.cancel()
            for worker in workers:
                worker.cancel()  # procrastinate's graceful shutdown: running jobs finish
            with contextlib.suppress(asyncio.CancelledError):
                await rescuer
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

    async def _rescue_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.stalled_after / 2)
            if stop.is_set():
                return
            try:
                await self.rescue()
            except Exception:  # the database away for a moment: try again next time
                log.warning("could not look for stalled updates", exc_info=True)

    async def rescue(self) -> int:
        """Give back to the queue the updates and slow jobs of workers that stopped
        beating (a slow job starts again from the beginning); one given back too often
        already is ended instead (it may be what kills its workers)."""
        count = 0
        for queue in (QUEUE, SLOW_QUEUE):
            stalled = await self.app.job_manager.get_stalled_jobs(
                queue=queue, seconds_since_heartbeat=self.stalled_after
            )
            given = ended = 0
            for job in stalled:
                if job.attempts > GIVE_UP_AFTER:
                    await self.app.job_manager.finish_job(
                        job, status=procrastinate.jobs.Status.FAILED, delete_job=True
                    )
                    ended += 1
                else:
                    try:
                        await self.app.job_manager.retry_job(job)
                    except procrastinate.exceptions.ConnectorException:
                        # Another process's rescue gave it back first (it is no longer
                        # 'doing'): nothing to do, and the other stalled jobs still are.
                        log.debug("a stalled %s job was given back elsewhere", queue)
                        continue
                    given += 1
            if given:
                log.warning("gave back %d %s jobs a stopped worker was doing", given, queue)
            if ended:
                log.error("ended %d %s jobs that stopped every worker taking them", ended, queue)
            count += given
        return count

    async def forget_finished(self) -> None:
        """Delete the rows of jobs that ended (an earlier version kept failed ones, with
        the answers or notice bytes they carried)."""
        await self.app.job_manager.delete_old_jobs(
            nb_hours=1, include_failed=True, include_cancelled=True, include_aborted=True
        )

    def slow_work(self) -> QueuedSlowWork:
        """conversation.slow's jobs, stored in this queue."""
        return QueuedSlowWork(self)

    async def defer_slow(self, job: dict[str, Any], lock: str | None) -> None:
        """Store a slow job; committed when this returns."""
        await self.app.configure_task(SLOW_TASK, lock=lock).defer_async(job=job)

    async def slow_busy(self, lock: str) -> bool:
        """A slow job with this lock is waiting or running."""
        row = await self.app.connector.execute_query_one_async(
            """
            SELECT count(*) AS found FROM procrastinate_jobs
             WHERE queue_name = %(queue)s AND lock = %(lock)s AND status IN ('todo', 'doing')
            """,
            queue=SLOW_QUEUE,
            lock=lock,
        )
        return int(row["found"]) > 0

    async def state(self, queue: str = QUEUE) -> QueueState:
        row = await self.app.connector.execute_query_one_async(
            """
            SELECT count(*) AS depth,
                   coalesce(extract(epoch FROM now() - min(e.at)), 0) AS oldest
              FROM procrastinate_jobs j
              LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
             WHERE j.queue_name = %(queue)s AND j.status IN ('todo', 'doing')
            """,
            queue=queue,
        )
        return QueueState(int(row["depth"]), float(row["oldest"]))

    async def waiting_slow(self) -> int:
        """Slow jobs stored and not yet taken by a worker."""
        row = await self.app.connector.execute_query_one_async(
            """
            SELECT count(*) AS waiting FROM procrastinate_jobs
             WHERE queue_name = %(queue)s AND status = 'todo'
            """,
            queue=SLOW_QUEUE,
        )
        return int(row["waiting"])


class QueuedSlowWork:
    """conversation.slow's jobs in the durable queue: a `jobs` process of any host runs
    them; a person's exclusive jobs one at a time (the job's lock is the person)."""

    running = 0  # none of them runs in this process's hands

    def __init__(self, queue: UpdateQueue) -> None:
        self.queue = queue

    @staticmethod
    def _lock(person_id: int) -> str:
        return f"slow:{person_id}"

    async def busy(self, person_id: int) -> bool:
        return await self.queue.slow_busy(self._lock(person_id))

    async def ahead(self) -> int:
        return await self.queue.waiting_slow()

    async def submit(self, job: SlowJob) -> None:
        lock = self._lock(job.person_id) if job.exclusive else None
        await self.queue.defer_slow(job.to_json(), lock)
