"""What loading a plan over an existing campaign would change, before it changes anything.

A pure function of the stored campaign and the new plan: the coordinator reads the result
and confirms, so a revision never renames a unit someone is bound to, retires one, or moves
a deadline with submissions without saying so. The same rules decide what the load then
writes (`follows_plan`, `drops`), so the difference shown is the one applied.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from domain.plan import Plan


@dataclass(frozen=True)
class StoredUnit:
    code: str
    name: str
    active: bool
    people: int = 0  # liaisons and deputies bound to it
    submissions: int = 0


@dataclass(frozen=True)
class StoredObligation:
    code: str
    title: str
    active: bool


@dataclass(frozen=True)
class StoredDeadline:
    obligation: str  # the obligation's code
    key: str
    due: datetime
    cancelled: bool
    submissions: int = 0
    drafts: int = 0


@dataclass(frozen=True)
class StoredCampaign:
    """A campaign as the database holds it, with what people have attached to it."""

    code: str
    name: str
    version: int
    sha256: str  # of the current plan text
    units: tuple[StoredUnit, ...]
    obligations: tuple[StoredObligation, ...]
    deadlines: tuple[StoredDeadline, ...]


@dataclass(frozen=True)
class PlannedDeadline:
    """One deadline the new plan expands to (the scheduler's expansion, as plain data)."""

    obligation: str
    key: str
    due: datetime


@dataclass(frozen=True)
class UnitChange:
    code: str
    name: str
    old_name: str = ""  # renamed units only
    people: int = 0
    submissions: int = 0

    @property
    def in_use(self) -> bool:
        return bool(self.people or self.submissions)


@dataclass(frozen=True)
class ObligationChange:
    code: str
    title: str
    old_title: str = ""  # retitled obligations only


@dataclass(frozen=True)
class DeadlineChange:
    obligation: str
    title: str  # the obligation's title in the new plan (or the stored one if it goes)
    key: str
    due: datetime  # the new due instant; the stored one for a cancelled deadline
    old_due: datetime | None = None  # moved deadlines only
    submissions: int = 0
    drafts: int = 0

    @property
    def in_use(self) -> bool:
        return bool(self.submissions or self.drafts)


@dataclass(frozen=True)
class PlanRevision:
    campaign: str
    base_version: int  # the stored version the difference was computed against
    timezone: str  # the new plan's, for showing due times
    unchanged: bool  # the very same text as the stored version
    old_name: str = ""
    new_name: str = ""
    units_added: tuple[UnitChange, ...] = ()
    units_renamed: tuple[UnitChange, ...] = ()
    units_retired: tuple[UnitChange, ...] = ()
    obligations_added: tuple[ObligationChange, ...] = ()
    obligations_retitled: tuple[ObligationChange, ...] = ()
    obligations_retired: tuple[ObligationChange, ...] = ()
    deadlines_added: tuple[DeadlineChange, ...] = ()
    deadlines_moved: tuple[DeadlineChange, ...] = ()
    deadlines_cancelled: tuple[DeadlineChange, ...] = ()

    @property
    def renames_campaign(self) -> bool:
        return self.old_name != self.new_name

    @property
    def structural(self) -> bool:
        """Anything about units, obligations or deadlines (else only other settings)."""
        return any(
            (
                self.renames_campaign,
                self.units_added,
                self.units_renamed,
                self.units_retired,
                self.obligations_added,
                self.obligations_retitled,
                self.obligations_retired,
                self.deadlines_added,
                self.deadlines_moved,
                self.deadlines_cancelled,
            )
        )


def follows_plan(old_due: datetime, new_due: datetime, now: datetime) -> bool:
    """A stored deadline takes the new plan's values: past ones are history, unless the
    edit moves one into the future."""
    return old_due > now or new_due > now


def drops(due: datetime, cancelled: bool, now: datetime) -> bool:
    """A stored deadline the new plan no longer has goes (or is cancelled if work is
    attached): only future ones, and not twice."""
    return due > now and not cancelled


def plan_revision(
    stored: StoredCampaign,
    plan: Plan,
    sha256: str,
    deadlines: Sequence[PlannedDeadline],
    now: datetime,
) -> PlanRevision:
    """The difference between the stored campaign and `plan` (whose text hashes to
    `sha256` and expands to `deadlines` at `now`)."""
    base = PlanRevision(
        stored.code, stored.version, plan.timezone, sha256 == stored.sha256, stored.name, plan.name
    )
    if base.unchanged:
        return base
    units = {u.code: u for u in stored.units}
    added, renamed = [], []
    for unit in plan.units:
        old = units.get(unit.id)
        if old is None or not old.active:
            added.append(UnitChange(unit.id, unit.name))
        elif old.name != unit.name:
            renamed.append(UnitChange(unit.id, unit.name, old.name, old.people, old.submissions))
    wanted = {u.id for u in plan.units}
    retired = [
        UnitChange(u.code, u.name, people=u.people, submissions=u.submissions)
        for u in stored.units
        if u.active and u.code not in wanted
    ]

    obligations = {o.code: o for o in stored.obligations}
    titles = {o.code: o.title for o in stored.obligations} | {
        o.id: o.title for o in plan.obligations
    }
    ob_added = [
        ObligationChange(o.id, o.title)
        for o in plan.obligations
        if o.id not in obligations or not obligations[o.id].active
    ]
    ob_retitled = [
        ObligationChange(o.id, o.title, obligations[o.id].title)
        for o in plan.obligations
        if o.id in obligations and obligations[o.id].active and obligations[o.id].title != o.title
    ]
    planned_obligations = {o.id for o in plan.obligations}
    ob_retired = [
        ObligationChange(o.code, o.title)
        for o in stored.obligations
        if o.active and o.code not in planned_obligations
    ]

    existing = {(d.obligation, d.key): d for d in stored.deadlines}
    d_added, moved = [], []
    for d in deadlines:
        old_d = existing.pop((d.obligation, d.key), None)
        if old_d is None:
            d_added.append(DeadlineChange(d.obligation, titles[d.obligation], d.key, d.due))
        elif old_d.due != d.due and follows_plan(old_d.due, d.due, now):
            moved.append(
                DeadlineChange(
                    d.obligation,
                    titles[d.obligation],
                    d.key,
                    d.due,
                    old_d.due,
                    old_d.submissions,
                    old_d.drafts,
                )
            )
    cancelled = [
        DeadlineChange(
            d.obligation,
            titles.get(d.obligation, d.obligation),
            d.key,
            d.due,
            None,
            d.submissions,
            d.drafts,
        )
        for d in existing.values()
        if drops(d.due, d.cancelled, now)
    ]
    return PlanRevision(
        stored.code,
        stored.version,
        plan.timezone,
        False,
        stored.name,
        plan.name,
        _in_use_first(added),
        _in_use_first(renamed),
        _in_use_first(retired),
        tuple(ob_added),
        tuple(ob_retitled),
        tuple(ob_retired),
        tuple(d_added),
        _in_use_first(moved),
        _in_use_first(cancelled),
    )


_Change = TypeVar("_Change", UnitChange, DeadlineChange)


def _in_use_first(changes: list[_Change]) -> tuple[_Change, ...]:
    """Changes touching someone's work first: a long list is cut when shown."""
    return tuple(sorted(changes, key=lambda c: not c.in_use))


_ASCII_WORDS = re.compile(r"[^a-z0-9]+")


def new_campaign_id(name: str, title: str, today: date, taken: Collection[str]) -> str:
    """An id for a campaign created in the chat that no stored campaign has: the ASCII part
    of the notice's file name (`name`, "" for a pasted notice) when it says something, else
    a short hash of the notice's title; the day, then a counter, when that is taken."""
    slug = _ASCII_WORDS.sub("-", name.lower()).strip("-")[:40].strip("-")
    if not re.search(r"[a-z]", slug):
        slug = "c-" + hashlib.sha256(title.encode()).hexdigest()[:8]
    candidates = [slug, f"{slug}-{today:%Y%m%d}"]
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    counter = 2
    while f"{candidates[1]}-{counter}" in taken:
        counter += 1
    return f"{candidates[1]}-{counter}"
