"""The two streamed passes over the newest revisions, as named rows, fetched on the
event loop batch by batch as the worker thread asks for them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Callable, Coroutine, Generator, Iterator, Sequence
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import Executable, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncResult

from services.export.layout import Layout
from services.export.model import BATCH, FETCH_TIMEOUT, T
from storage import models as m

# ---- the two streamed passes --------------------------------------------------------------


def latest_revisions(layout: Layout, deadline_ids: set[int] | None) -> Any:
    q = (
        select(
            m.Submission.deadline_id,
            m.Submission.unit_id,
            func.max(m.Submission.revision).label("revision"),
        )
        .join(m.Deadline, m.Deadline.id == m.Submission.deadline_id)
        .where(m.Deadline.campaign_id == layout.campaign_id, m.Deadline.cancelled.is_(False))
    )
    if deadline_ids is not None:
        q = q.where(m.Submission.deadline_id.in_(sorted(deadline_ids)))
    return q.group_by(m.Submission.deadline_id, m.Submission.unit_id).subquery()


def newest(latest: Any) -> Any:
    return and_(
        m.Submission.deadline_id == latest.c.deadline_id,
        m.Submission.unit_id == latest.c.unit_id,
        m.Submission.revision == latest.c.revision,
    )


class GridRow(NamedTuple):
    """One unit's newest revision of one deadline, for 提交情况."""

    unit_id: int
    deadline_id: int
    status: str
    nil: bool
    submitted_at: datetime


class SheetRow(NamedTuple):
    """A newest revision with its answers, once per attachment (None without one)."""

    deadline_id: int
    unit_id: int
    status: str
    nil: bool
    submitted_at: datetime
    answers: dict[str, Any] | None
    review_comment: str | None
    field_id: str | None
    original_name: str | None
    storage_key: str | None


Row = TypeVar("Row", GridRow, SheetRow)


def grid_query(layout: Layout) -> Executable:
    """Newest revisions in 提交情况 order: unit by unit, each unit's deadlines in time."""
    latest = latest_revisions(layout, {d.id for d in layout.grid} if layout.selected else None)
    return (
        select(
            m.Submission.unit_id,
            m.Submission.deadline_id,
            m.Submission.status,
            m.Submission.nil,
            m.Submission.submitted_at,
        )
        .join(latest, newest(latest))
        .join(m.Unit, m.Unit.id == m.Submission.unit_id)
        .where(m.Unit.active.is_(True))
        .order_by(m.Unit.position, m.Unit.id)
    )


def sheet_query(layout: Layout) -> Executable:
    """Newest revisions with their answers and files, deadline by deadline in sheet order."""
    covered = {d.id for _, c, _ in layout.sheets for d in c}
    latest = latest_revisions(layout, covered if layout.selected else None)
    return (
        select(
            m.Submission.deadline_id,
            m.Submission.unit_id,
            m.Submission.status,
            m.Submission.nil,
            m.Submission.submitted_at,
            m.Submission.answers,
            m.Submission.review_comment,
            m.Attachment.field_id,
            m.Attachment.original_name,
            m.Attachment.storage_key,
        )
        .join(latest, newest(latest))
        .join(m.Deadline, m.Deadline.id == m.Submission.deadline_id)
        .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
        .join(m.Unit, m.Unit.id == m.Submission.unit_id)
        .outerjoin(m.Attachment, m.Attachment.submission_id == m.Submission.id)
        .where(m.Unit.active.is_(True))
        .order_by(
            m.Obligation.position,
            m.Obligation.id,
            m.Deadline.due_at,
            m.Deadline.id,
            m.Attachment.id,
        )
    )


class LoopFeed(Generic[Row]):
    """The rows of one streamed query, for a worker thread: each batch is fetched on the
    event loop (where the async connection lives) when the worker asks for it, and each
    row comes out as `shape` (its columns in the query's order)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        conn: AsyncConnection,
        query: Executable,
        shape: type[Row],
    ) -> None:
        self._loop = loop
        self._conn = conn
        self._query = query
        self._shape: type[Row] = shape

    def _start(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if self._loop.is_closed():
            coro.close()
            raise RuntimeError("the event loop is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._start(coro).result(timeout=FETCH_TIMEOUT)

    async def _open(self) -> AsyncResult[Any]:
        return await self._conn.stream(self._query)

    def rows(self) -> Generator[Row, None, None]:
        """The rows in order. The next batch is already being fetched on the loop while
        the worker writes the current one."""
        result = self._call(self._open())
        pending: concurrent.futures.Future[Sequence[Any]] | None = None
        make = self._shape._make
        try:
            pending = self._start(result.fetchmany(BATCH))
            while True:
                batch = pending.result(timeout=FETCH_TIMEOUT)
                pending = None
                if not batch:
                    return
                pending = self._start(result.fetchmany(BATCH))
                yield from map(make, batch)
        finally:
            if pending is not None:  # never close the result under a running fetch
                with contextlib.suppress(Exception):
                    pending.result(timeout=FETCH_TIMEOUT)
            self._call(result.close())


class Groups(Generic[Row]):
    """Consecutive rows sharing a key, taken in the caller's order; a row whose key the
    caller never asks for (or asks for too late) is skipped."""

    def __init__(
        self, rows: Iterator[Row], key: Callable[[Row], int], rank: dict[int, int]
    ) -> None:
        self._rows: Iterator[Row] = rows
        self._key: Callable[[Row], int] = key
        self._rank = rank
        self._next: Row | None = next(rows, None)

    def take(self, ident: int) -> list[Row]:
        wanted = self._rank[ident]
        found: list[Row] = []
        while self._next is not None:
            rank = self._rank.get(self._key(self._next), -1)
            if rank > wanted:
                break
            if rank == wanted:
                found.append(self._next)
            self._next = next(self._rows, None)
        return found
