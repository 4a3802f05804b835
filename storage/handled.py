"""Updates taken from a durable queue are handled at least once: a worker killed mid-update
leaves its job to be run again by another. What must not happen twice is the update's
effect (an answer saved into the next field). So the first transaction that writes on
behalf of an update also records the update in `inbound_messages`, in that same
transaction; a second run finds it recorded and skips it (`services.inbox.seen`).

The use cases keep owning their transactions: this is a unit-of-work hook on every
session, active only inside `on_behalf_of` (a contextvar, so concurrent updates in one
process never see each other's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session

from storage import models as m


@dataclass
class _Turn:
    platform: str
    key: str
    now: Callable[[], datetime]
    recorded: bool = False


_turn: ContextVar[_Turn | None] = ContextVar("cuibao_turn", default=None)
_idempotent: ContextVar[bool] = ContextVar("cuibao_idempotent", default=False)
_WROTE = "cuibao.wrote"
_CARRIED = "cuibao.carried"


@contextmanager
def on_behalf_of(platform: str, key: str, now: Callable[[], datetime]) -> Iterator[None]:
    """Within this block, the first committed write also records (platform, key)."""
    token = _turn.set(_Turn(platform, key, now))
    try:
        yield
    finally:
        _turn.reset(token)


@contextmanager
def idempotent() -> Iterator[None]:
    """Writes in this block do not record the update: doing them again when it is run
    again changes nothing (a pending 退回 forgotten, a person's name noted). They must not
    be what marks the update handled: a process that dies right after them would leave
    the rest of the update (a slow job it was to start) undone for good."""
    token = _idempotent.set(True)
    try:
        yield
    finally:
        _idempotent.reset(token)


def _executed(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and _turn.get() is not None:
        state.session.info[_WROTE] = True


def _before_commit(session: Session) -> None:
    turn = _turn.get()
    if turn is None or turn.recorded or _idempotent.get():
        session.info.pop(_WROTE, None)
        return
    wrote = session.info.pop(_WROTE, False) or session.new or session.dirty or session.deleted
    if not wrote:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(m.InboundMessage)
        .values(platform=turn.platform, message_id=turn.key, received_at=turn.now())
        .on_conflict_do_nothing()
    )
    session.info[_CARRIED] = True


def _after_commit(session: Session) -> None:
    turn = _turn.get()
    if session.info.pop(_CARRIED, False) and turn is not None:
        turn.recorded = True  # later transactions of this update record nothing more


def _after_rollback(session: Session) -> None:
    session.info.pop(_WROTE, None)
    session.info.pop(_CARRIED, None)


def install() -> None:
    """Listen on every Session (idempotent)."""
    if not event.contains(Session, "do_orm_execute", _executed):
        event.listen(Session, "do_orm_execute", _executed)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
