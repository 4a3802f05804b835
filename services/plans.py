"""Use cases around plans: load (or reload) a plan into the database."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.plan import CalendarOverrides, Plan
from domain.plan_revision import (
    PlannedDeadline,
    PlanRevision,
    StoredCampaign,
    StoredDeadline,
    StoredObligation,
    StoredUnit,
    drops,
    follows_plan,
    plan_revision,
)
from domain.plan_toml import PlanError, parse_plan
from scheduler.calendar import WorkdayCalendar
from scheduler.deadlines import Expansion, Notice, expand_plan
from services.access import Actor, Role
from services.export import ExportError, template_problem
from storage import models as m
from storage.repositories import CampaignRepo, DeadlineRepo, ObligationRepo, UnitRepo


@dataclass(frozen=True)
class TemplateFile:
    """The workbook a plan's `[export]` names, as read next to the plan or sent in chat."""

    name: str
    data: bytes


@dataclass(frozen=True)
class AttachedTemplate:
    campaigns: tuple[str, ...]  # names of the campaigns now using it; () if none
    problem: ExportError | None = None  # why the workbook does not fit


class TemplateState(StrEnum):
    STORED = "stored"  # this load stored (or replaced) the workbook
    KEPT = "kept"  # the plan names the workbook already stored for the campaign
    MISSING = "missing"  # the plan names a workbook the campaign does not have yet


@dataclass(frozen=True)
class LoadReport:
    campaign: str
    version: int
    unchanged: bool
    units_added: int = 0
    units_retired: int = 0
    deadlines_added: int = 0
    deadlines_updated: int = 0
    deadlines_removed: int = 0
    deadlines_cancelled: int = 0
    warnings: tuple[Notice, ...] = ()
    template: TemplateState | None = None  # None: the plan names no template
    template_file: str = ""  # the workbook's name when the plan names one


class PendingState(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    CANCELLED = "cancelled"
    STALE = "stale"  # another version was loaded before this one was confirmed


class Decision(StrEnum):
    APPLIED = "applied"
    CANCELLED = "cancelled"
    ALREADY = "already"  # decided before (a second tap): see `Decided.state`
    STALE = "stale"
    NOT_YOURS = "not_yours"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class NotYours:
    campaign: str


@dataclass(frozen=True)
class Proposal:
    """A plan sent over an existing campaign, stored until its coordinator confirms."""

    revision: PlanRevision
    pending_id: int


@dataclass(frozen=True)
class Decided:
    outcome: Decision
    campaign: str = ""
    report: LoadReport | None = None  # APPLIED
    state: PendingState | None = None  # ALREADY: how it was decided
    version: int = 0  # STALE, ALREADY: the campaign's version now


class RevisionConflict(Exception):
    """The campaign is not at the version a difference was shown for: someone loaded
    another version (or created the campaign) in between."""

    def __init__(self, campaign: str, version: int) -> None:
        super().__init__(campaign, version)
        self.campaign = campaign
        self.version = version  # the stored version now; 0: no such campaign


async def load_plan(
    sessions: async_sessionmaker[AsyncSession],
    plan: Plan,
    source_name: str,
    source_text: str,
    now: datetime,
    calendar_overrides: CalendarOverrides | None = None,
    template: TemplateFile | None = None,
    *,
    expected_version: int | None = None,
    coordinator: int | None = None,
) -> LoadReport:
    """Store a plan, or apply an edited one: future deadlines follow the new text, past
    ones and everything submitted stay as they were. One transaction: all or nothing.
    `template` is the workbook the plan's `[export]` names, already checked by the caller;
    without it the campaign keeps the one it has under that name, if any.
    `expected_version` is the stored version the coordinator saw the difference against
    (0: the campaign must not exist yet); if it moved since, RevisionConflict and nothing
    is written. `coordinator` (a person id) coordinates the campaign afterwards."""
    expansion = _expand(plan, now, calendar_overrides)
    async with sessions.begin() as s:
        return await _apply(
            s,
            plan,
            source_name,
            source_text,
            now,
            expansion,
            template,
            expected_version,
            coordinator,
        )


def _expand(plan: Plan, now: datetime, overrides: CalendarOverrides | None) -> Expansion:
    calendar = WorkdayCalendar(overrides or CalendarOverrides(), plan.calendar)
    return expand_plan(plan, now, calendar)


async def _apply(
    s: AsyncSession,
    plan: Plan,
    source_name: str,
    source_text: str,
    now: datetime,
    expansion: Expansion,
    template: TemplateFile | None,
    expected_version: int | None,
    coordinator: int | None,
) -> LoadReport:
    """The one way a plan is written, from the command line and from the chat alike."""
    digest = hashlib.sha256(source_text.encode()).hexdigest()
    campaigns = CampaignRepo(s)
    campaign = await campaigns.by_code(plan.id)
    stored = campaign.current_version if campaign is not None else 0
    if expected_version is not None and stored != expected_version:
        raise RevisionConflict(plan.id, stored)
    if campaign is None:
        campaign = await campaigns.add(_new_campaign(plan, now))
        version = 1
    else:
        latest = await campaigns.latest_plan(campaign.id)
        if latest is not None and latest.sha256 == digest:
            state = await _sync_template(s, campaign.id, plan, template, now)
            await _grant(s, campaign.id, coordinator, now)
            return LoadReport(
                plan.id,
                latest.version,
                True,
                warnings=expansion.warnings,
                template=state,
                template_file=_template_file(plan),
            )
        version = (latest.version + 1) if latest else 1
        _update_campaign(campaign, plan, version, now)
    await campaigns.add_plan_version(
        m.PlanVersion(
            campaign_id=campaign.id,
            version=version,
            source_name=source_name,
            source_text=source_text,
            sha256=digest,
            loaded_at=now,
        )
    )
    added, retired = await _sync_units(s, campaign.id, plan)
    obligation_ids = await _sync_obligations(s, campaign.id, plan)
    counts = await _sync_deadlines(s, campaign.id, version, expansion, obligation_ids, now)
    state = await _sync_template(s, campaign.id, plan, template, now)
    await _grant(s, campaign.id, coordinator, now)
    return LoadReport(
        plan.id,
        version,
        False,
        added,
        retired,
        *counts,
        warnings=expansion.warnings,
        template=state,
        template_file=_template_file(plan),
    )


def _template_file(plan: Plan) -> str:
    return plan.export.file_name if plan.export is not None else ""


async def _grant(s: AsyncSession, campaign_id: int, person_id: int | None, now: datetime) -> None:
    if person_id is None:
        return
    held = await s.scalar(
        select(m.Membership).where(
            m.Membership.campaign_id == campaign_id, m.Membership.person_id == person_id
        )
    )
    if held is None:
        s.add(
            m.Membership(
                campaign_id=campaign_id,
                person_id=person_id,
                unit_id=None,
                role=Role.COORDINATOR.value,
                created_at=now,
            )
        )


async def plan_revision_of(
    sessions: async_sessionmaker[AsyncSession],
    plan: Plan,
    source_text: str,
    now: datetime,
    calendar_overrides: CalendarOverrides | None = None,
) -> PlanRevision | None:
    """What loading `plan` would change in the stored campaign of its id; None if there is
    no such campaign yet (loading it creates one)."""
    found = await _revision(sessions, plan, source_text, now, calendar_overrides)
    return found[1] if found is not None else None


async def _revision(
    sessions: async_sessionmaker[AsyncSession],
    plan: Plan,
    source_text: str,
    now: datetime,
    overrides: CalendarOverrides | None,
) -> tuple[int, PlanRevision] | None:
    expansion = _expand(plan, now, overrides)
    async with sessions() as s:
        found = await _stored_campaign(s, plan.id)
    if found is None:
        return None
    campaign_id, stored = found
    planned = [PlannedDeadline(d.obligation_id, d.key, d.due) for d in expansion.deadlines]
    digest = hashlib.sha256(source_text.encode()).hexdigest()
    return campaign_id, plan_revision(stored, plan, digest, planned, now)


async def _stored_campaign(s: AsyncSession, code: str) -> tuple[int, StoredCampaign] | None:
    """The campaign of that code as the difference needs it: units with the people bound
    to them and their reports, deadlines with the work attached to them."""
    campaign = await CampaignRepo(s).by_code(code)
    if campaign is None:
        return None
    latest = await CampaignRepo(s).latest_plan(campaign.id)
    cid = campaign.id
    people = await _counts(
        s,
        select(m.Membership.unit_id, func.count())
        .where(m.Membership.campaign_id == cid, m.Membership.unit_id.is_not(None))
        .group_by(m.Membership.unit_id),
    )
    reports = await _counts(
        s,
        select(m.Submission.unit_id, func.count(distinct(m.Submission.deadline_id)))
        .join(m.Unit, m.Unit.id == m.Submission.unit_id)
        .where(m.Unit.campaign_id == cid)
        .group_by(m.Submission.unit_id),
    )
    units = tuple(
        StoredUnit(u.code, u.name, u.active, people.get(u.id, 0), reports.get(u.id, 0))
        for u in await UnitRepo(s).of_campaign(cid)
    )
    obligations = await ObligationRepo(s).of_campaign(cid)
    code_of = {o.id: o.code for o in obligations}
    submitted = await _counts(
        s,
        select(m.Submission.deadline_id, func.count(distinct(m.Submission.unit_id)))
        .join(m.Deadline, m.Deadline.id == m.Submission.deadline_id)
        .where(m.Deadline.campaign_id == cid)
        .group_by(m.Submission.deadline_id),
    )
    drafted = await _counts(
        s,
        select(m.Draft.deadline_id, func.count())
        .join(m.Deadline, m.Deadline.id == m.Draft.deadline_id)
        .where(m.Deadline.campaign_id == cid)
        .group_by(m.Draft.deadline_id),
    )
    deadlines = tuple(
        StoredDeadline(
            code_of[d.obligation_id],
            d.key,
            d.due_at,
            d.cancelled,
            submitted.get(d.id, 0),
            drafted.get(d.id, 0),
        )
        for d in await DeadlineRepo(s).of_campaign(cid)
    )
    return cid, StoredCampaign(
        campaign.code,
        campaign.name,
        campaign.current_version,
        latest.sha256 if latest is not None else "",
        units,
        tuple(StoredObligation(o.code, o.title, o.active) for o in obligations),
        deadlines,
    )


async def _counts(s: AsyncSession, statement: Select[Any, Any]) -> dict[int, int]:
    """id -> count, from a grouped (id, count) query."""
    return {key: int(count) for key, count in await s.execute(statement)}


async def _sync_template(
    s: AsyncSession,
    campaign_id: int,
    plan: Plan,
    template: TemplateFile | None,
    now: datetime,
    person_id: int | None = None,
) -> TemplateState | None:
    if plan.export is None:
        return None
    name = plan.export.file_name
    row = await s.scalar(
        select(m.ExportTemplate).where(m.ExportTemplate.campaign_id == campaign_id)
    )
    if template is None:
        return (
            TemplateState.KEPT
            if row is not None and row.file_name == name
            else TemplateState.MISSING
        )
    digest = hashlib.sha256(template.data).hexdigest()
    if row is None:
        row = m.ExportTemplate(campaign_id=campaign_id)
        s.add(row)
    elif row.file_name == name and row.sha256 == digest:
        return TemplateState.KEPT
    row.file_name, row.size, row.sha256, row.data = name, len(template.data), digest, template.data
    row.uploaded_by, row.uploaded_at = person_id, now
    return TemplateState.STORED


def _new_campaign(plan: Plan, now: datetime) -> m.Campaign:
    return m.Campaign(
        code=plan.id,
        name=plan.name,
        office=plan.office,
        coordinator=plan.coordinator,
        timezone=plan.timezone,
        start=plan.period.start,
        end=plan.period.end,
        current_version=1,
        created_at=now,
        updated_at=now,
    )


def _update_campaign(c: m.Campaign, plan: Plan, version: int, now: datetime) -> None:
    c.name, c.office, c.coordinator = plan.name, plan.office, plan.coordinator
    c.timezone, c.start, c.end = plan.timezone, plan.period.start, plan.period.end
    c.current_version, c.updated_at = version, now


async def _sync_units(s: AsyncSession, campaign_id: int, plan: Plan) -> tuple[int, int]:
    repo = UnitRepo(s)
    existing = {u.code: u for u in await repo.of_campaign(campaign_id)}
    new_rows, changed = [], []
    for position, unit in enumerate(plan.units):
        row = {"name": unit.name, "group": unit.group, "position": position, "active": True}
        old = existing.get(unit.id)
        if old is not None:
            # Only rows that really change are written: a province has thousands of units.
            if any(getattr(old, k) != v for k, v in row.items()):
                changed.append({"id": old.id, **row})
        else:
            new_rows.append({"campaign_id": campaign_id, "code": unit.id, **row})
    wanted = {u.id for u in plan.units}
    # A unit dropped from the plan is retired, not deleted: its submissions stay visible.
    retired = [
        {"id": u.id, "active": False}
        for code, u in existing.items()
        if code not in wanted and u.active
    ]
    await repo.insert_many(new_rows)
    await repo.update_many(changed + retired)
    return len(new_rows), len(retired)


async def _sync_obligations(s: AsyncSession, campaign_id: int, plan: Plan) -> dict[str, int]:
    repo = ObligationRepo(s)
    existing = {o.code: o for o in await repo.of_campaign(campaign_id)}
    new_rows, changed = [], []
    for position, ob in enumerate(plan.obligations):
        row = {
            "title": ob.title,
            "form_code": ob.form,
            "cadence": ob.cadence.value,
            "local_time": ob.time,
            "unit_codes": list(ob.units) if ob.units else None,
            "position": position,
            "active": True,
        }
        if ob.id in existing:
            changed.append({"id": existing[ob.id].id, **row})
        else:
            new_rows.append({"campaign_id": campaign_id, "code": ob.id, **row})
    wanted = {o.id for o in plan.obligations}
    retired = [{"id": o.id, "active": False} for code, o in existing.items() if code not in wanted]
    await repo.insert_many(new_rows)
    await repo.update_many(changed + retired)
    return {o.code: o.id for o in await repo.of_campaign(campaign_id)}


async def _sync_deadlines(
    s: AsyncSession,
    campaign_id: int,
    version: int,
    expansion: Expansion,
    obligation_ids: dict[str, int],
    now: datetime,
) -> tuple[int, int, int, int]:
    repo = DeadlineRepo(s)
    code_of = {v: k for k, v in obligation_ids.items()}
    existing = {(code_of[d.obligation_id], d.key): d for d in await repo.of_campaign(campaign_id)}
    new_rows, changed = [], []
    for d in expansion.deadlines:
        row = {
            "seq": d.seq,
            "due_at": d.due,
            "cancelled": False,
            "plan_version": version,
            "period_start": d.period[0] if d.period else None,
            "period_end": d.period[1] if d.period else None,
        }
        old = existing.pop((d.obligation_id, d.key), None)
        if old is None:
            new_rows.append(
                {
                    "campaign_id": campaign_id,
                    "obligation_id": obligation_ids[d.obligation_id],
                    "key": d.key,
                    **row,
                }
            )
        elif _differs(old, row) and follows_plan(old.due_at, d.due, now):
            changed.append({"id": old.id, **row})
    gone = [d for d in existing.values() if drops(d.due_at, d.cancelled, now)]
    attached = await repo.with_work([d.id for d in gone])
    removable = [d.id for d in gone if d.id not in attached]
    cancelled = [
        {"id": d.id, "cancelled": True, "plan_version": version} for d in gone if d.id in attached
    ]
    await repo.insert_many(new_rows)
    await repo.update_many(changed + cancelled)
    await repo.delete_many(removable)
    return len(new_rows), len(changed), len(removable), len(cancelled)


def _differs(old: m.Deadline, row: dict[str, object]) -> bool:
    return any(getattr(old, k) != v for k, v in row.items() if k != "plan_version")


async def campaign_codes(sessions: async_sessionmaker[AsyncSession]) -> Sequence[str]:
    async with sessions() as s:
        return [c.code for c in await CampaignRepo(s).all()]


class PlanService:
    """Plan use cases bound to the app's database and calendar settings."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        calendar_overrides: CalendarOverrides | None = None,
    ) -> None:
        self.sessions = sessions
        self.calendar_overrides = calendar_overrides

    async def load(
        self,
        plan: Plan,
        source_name: str,
        source_text: str,
        now: datetime,
        template: TemplateFile | None = None,
    ) -> LoadReport:
        return await load_plan(
            self.sessions, plan, source_name, source_text, now, self.calendar_overrides, template
        )

    async def attach_template(
        self, actor: Actor, file_name: str, data: bytes, now: datetime
    ) -> AttachedTemplate:
        """A workbook sent in chat becomes the export template of each campaign the sender
        coordinates whose plan names a file of that name, once it fits every such plan's
        mapping. All of them or none, in one transaction."""
        async with self.sessions() as s:
            current = (
                await s.execute(
                    select(
                        m.PlanVersion.campaign_id,
                        m.PlanVersion.source_text,
                        m.PlanVersion.source_name,
                    ).join(
                        m.Campaign,
                        (m.Campaign.id == m.PlanVersion.campaign_id)
                        & (m.Campaign.current_version == m.PlanVersion.version),
                    )
                )
            ).all()
        plans = []
        for campaign_id, text, name in current:
            if not actor.coordinates(campaign_id):
                continue
            # Stored versions were checked when loaded; checks added since do not apply.
            plan = parse_plan(text, name, check_reminders=False)
            if plan.export is not None and plan.export.file_name == file_name:
                plans.append((campaign_id, plan))
        if not plans:
            return AttachedTemplate(())
        for _, plan in plans:
            assert plan.export is not None
            problem = await asyncio.to_thread(template_problem, plan.export, data, len(plan.units))
            if problem is not None:
                return AttachedTemplate((), problem)
        async with self.sessions.begin() as s:
            for campaign_id, plan in plans:
                await _sync_template(
                    s, campaign_id, plan, TemplateFile(file_name, data), now, actor.person_id
                )
        return AttachedTemplate(tuple(plan.name for _, plan in plans))

    async def load_text(
        self,
        text: str,
        source_name: str,
        now: datetime,
        coordinator: int | None = None,
        *,
        expected_version: int | None = None,
    ) -> LoadReport | PlanError:
        """Parse and load a plan written for the chat (a notice's draft); the sender
        coordinates it afterwards. `expected_version` as for `load_plan`."""
        try:
            plan = parse_plan(text, source_name)
        except PlanError as exc:
            return exc
        return await load_plan(
            self.sessions,
            plan,
            source_name,
            text,
            now,
            self.calendar_overrides,
            expected_version=expected_version,
            coordinator=coordinator,
        )

    async def send_plan(
        self, actor: Actor, text: str, source_name: str, now: datetime
    ) -> LoadReport | PlanError | NotYours | Proposal:
        """A plan file sent in chat. A new campaign is created at once; one over an existing
        campaign its sender coordinates becomes a pending revision whose difference the
        coordinator confirms (`decide`); the very same text is "unchanged" at once. It comes
        without its template: the campaign keeps the stored one of that name, and the
        report says when the coordinator still has to send it."""
        try:
            plan = parse_plan(text, source_name)
        except PlanError as exc:
            return exc
        found = await _revision(self.sessions, plan, text, now, self.calendar_overrides)
        grantee = None if actor.global_coordinator else actor.person_id
        if found is None:
            try:
                return await load_plan(
                    self.sessions,
                    plan,
                    source_name,
                    text,
                    now,
                    self.calendar_overrides,
                    expected_version=0,
                    coordinator=grantee,
                )
            except RevisionConflict:  # created by someone else meanwhile: look again
                return await self.send_plan(actor, text, source_name, now)
        campaign_id, revision = found
        if not actor.coordinates(campaign_id):
            return NotYours(plan.id)
        if revision.unchanged:
            return await load_plan(
                self.sessions,
                plan,
                source_name,
                text,
                now,
                self.calendar_overrides,
                coordinator=grantee,
            )
        async with self.sessions.begin() as s:
            pending = m.PendingRevision(
                campaign_id=campaign_id,
                base_version=revision.base_version,
                source_name=source_name,
                source_text=text,
                proposed_by=actor.person_id,
                proposed_at=now,
                state=PendingState.PENDING.value,
            )
            s.add(pending)
            await s.flush()
            pending_id = pending.id
        return Proposal(revision, pending_id)

    async def decide(self, actor: Actor, pending_id: int, apply: bool, now: datetime) -> Decided:
        """Apply (or drop) a pending revision, once: the first tap of its button takes it,
        a second tap (or another process) finds it taken and changes nothing. Applying
        is `load_plan`'s own code, refused if another version was loaded since."""
        async with self.sessions.begin() as s:
            row = await s.get(m.PendingRevision, pending_id)
            if row is None:
                return Decided(Decision.UNKNOWN)
            campaign = await s.get_one(m.Campaign, row.campaign_id)
            code = campaign.code
            if not actor.coordinates(row.campaign_id):
                return Decided(Decision.NOT_YOURS, code)
            outcome = PendingState.APPLIED if apply else PendingState.CANCELLED
            taken = await s.execute(
                update(m.PendingRevision)
                .where(
                    m.PendingRevision.id == pending_id,
                    m.PendingRevision.state == PendingState.PENDING.value,
                )
                .values(state=outcome.value, decided_at=now)
                .execution_options(synchronize_session=False)
            )
            if int(getattr(taken, "rowcount", 0) or 0) != 1:
                await s.refresh(row)
                return Decided(
                    Decision.ALREADY,
                    code,
                    state=PendingState(row.state),
                    version=campaign.current_version,
                )
            if not apply:
                return Decided(Decision.CANCELLED, code)
            # Checked when it was sent; checks added since do not apply.
            plan = parse_plan(row.source_text, row.source_name, check_reminders=False)
            expansion = _expand(plan, now, self.calendar_overrides)
            grantee = None if actor.global_coordinator else actor.person_id
            try:
                report = await _apply(
                    s,
                    plan,
                    row.source_name,
                    row.source_text,
                    now,
                    expansion,
                    None,
                    row.base_version,
                    grantee,
                )
            except RevisionConflict as exc:
                await s.refresh(row)
                row.state = PendingState.STALE.value
                return Decided(Decision.STALE, code, version=exc.version)
        return Decided(Decision.APPLIED, code, report=report)

    async def campaign_codes(self) -> Sequence[str]:
        return await campaign_codes(self.sessions)
