"""Coordinator use cases around people: who holds which seat of which unit, unbinding or
replacing a liaison or deputy, revoking invitation links, and adding units from a unit list.

Every action is safe to repeat: a second confirmation finds nothing left to do and says
so (`None` or a count of 0), so a double tap never acts twice. Each read runs a fixed
number of statements, whatever the number of units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.plan import CalendarOverrides
from domain.plan_toml import parse_plan
from domain.unit_list import ListedUnit, UnitMerge, add_units_to_plan_text, merge_unit_list
from services.access import Actor, Role, free_roles, revocable_invites
from services.plans import LoadReport, load_plan
from services.ports import Address
from storage import models as m
from storage.unit_list import UnitListError
from storage.unit_list import read_unit_list as _read

# In the chat a workbook is a unit list only once its header is found: one that cannot be
# read, has no such header or nothing under it may be an export template, and is handed on.
NOT_A_UNIT_LIST = frozenset(
    {"no_header", "no_units", "not_xlsx", "ole", "corrupt", "macros", "too_large"}
)
UNIT_LIST_MAX_BYTES = 5 * 1024 * 1024

__all__ = ["UnitListError"]


def read_unit_list(data: bytes) -> list[ListedUnit] | UnitListError:
    """The units of a unit list (.xlsx), or why the file was refused (row and column)."""
    try:
        return _read(data, max_bytes=UNIT_LIST_MAX_BYTES)
    except UnitListError as exc:
        return exc


@dataclass(frozen=True)
class Holder:
    membership_id: int
    person_id: int
    external_id: str
    name: str
    role: Role
    reachable: bool
    last_active: datetime  # their newest submission or draft in the campaign, else binding


@dataclass(frozen=True)
class OpenLink:
    invite_id: int
    expires_at: datetime
    used: bool  # a unit link its liaison used, still open for the deputy


@dataclass(frozen=True)
class UnitHolding:
    unit_id: int
    code: str
    name: str
    group: str
    people: tuple[Holder, ...]
    links: tuple[OpenLink, ...]

    @property
    def free(self) -> tuple[Role, ...]:
        return free_roles({h.role.value for h in self.people})


@dataclass(frozen=True)
class CampaignPeople:
    campaign_id: int
    code: str
    name: str
    timezone: str
    units: tuple[UnitHolding, ...]
    coordinator_links: tuple[OpenLink, ...]

    @property
    def newest_link(self) -> int:
        """The newest open link's id: a revocation confirmed later never reaches past it."""
        ids = [x.invite_id for u in self.units for x in u.links]
        return max(ids + [x.invite_id for x in self.coordinator_links], default=0)


@dataclass(frozen=True)
class Unbound:
    campaign_code: str
    campaign_name: str
    unit_id: int
    unit_code: str
    unit_name: str
    role: Role
    person_name: str
    address: Address
    language: str | None
    links_revoked: int


@dataclass(frozen=True)
class ImportPreview:
    campaign_id: int
    campaign_name: str
    version: int  # the plan version the preview was built on
    merge: UnitMerge


class PeopleService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        calendar_overrides: CalendarOverrides | None = None,
    ) -> None:
        self.sessions = sessions
        self.calendar_overrides = calendar_overrides

    async def campaign_id(self, code: str) -> int | None:
        async with self.sessions() as s:
            return await s.scalar(select(m.Campaign.id).where(m.Campaign.code == code))

    async def holdings(self, campaign_id: int, now: datetime) -> CampaignPeople:
        """Each active unit of the campaign with its people and its open links."""
        async with self.sessions() as s:
            campaign = await s.get_one(m.Campaign, campaign_id)
            units = (
                await s.scalars(
                    select(m.Unit)
                    .where(m.Unit.campaign_id == campaign_id, m.Unit.active.is_(True))
                    .order_by(m.Unit.position, m.Unit.id)
                )
            ).all()
            rows = (
                await s.execute(
                    select(m.Membership, m.Person)
                    .join(m.Person, m.Person.id == m.Membership.person_id)
                    .where(
                        m.Membership.campaign_id == campaign_id, m.Membership.unit_id.is_not(None)
                    )
                    .order_by(m.Membership.id)
                )
            ).all()
            active = await _last_activity(s, campaign_id)
            links = (await s.scalars(revocable_invites(campaign_id, now))).all()
        people: dict[int, list[Holder]] = {}
        for ms, p in rows:
            last = max(active.get(p.id, ms.created_at), ms.created_at)
            people.setdefault(ms.unit_id or 0, []).append(
                Holder(
                    ms.id, p.id, p.external_id, p.display_name, Role(ms.role), p.reachable, last
                )
            )
        open_links: dict[int | None, list[OpenLink]] = {}
        for x in links:
            open_links.setdefault(x.unit_id, []).append(
                OpenLink(x.id, x.expires_at, x.used_at is not None)
            )
        result = []
        for u in units:
            held = tuple(sorted(people.get(u.id, ()), key=lambda h: h.role is not Role.LIAISON))
            room = free_roles({h.role.value for h in held})
            # A used unit link binds nobody once the unit is full: not worth listing then.
            unit_links = tuple(x for x in open_links.get(u.id, ()) if room or not x.used)
            result.append(UnitHolding(u.id, u.code, u.name, u.group, held, unit_links))
        return CampaignPeople(
            campaign.id,
            campaign.code,
            campaign.name,
            campaign.timezone,
            tuple(result),
            tuple(open_links.get(None, ())),
        )

    async def find_units(
        self, campaign_id: int, text: str, now: datetime, limit: int = 10
    ) -> list[UnitHolding]:
        """Units whose id is `text`, or whose name contains it (spaces ignored)."""
        wanted = "".join(text.split())
        everyone = (await self.holdings(campaign_id, now)).units
        exact = [u for u in everyone if wanted in (u.code, u.name)]
        return exact or [u for u in everyone if wanted and wanted in u.name][:limit]

    async def unit(
        self, actor: Actor | None, unit_id: int, now: datetime
    ) -> tuple[CampaignPeople, UnitHolding] | None:
        """One unit's card; None if it is not a unit of a campaign the actor coordinates."""
        async with self.sessions() as s:
            unit = await s.get(m.Unit, unit_id)
        if unit is None or not unit.active or not _may(actor, unit.campaign_id):
            return None
        everyone = await self.holdings(unit.campaign_id, now)
        found = next((u for u in everyone.units if u.unit_id == unit_id), None)
        return (everyone, found) if found is not None else None

    async def revoke(
        self,
        actor: Actor | None,
        campaign_id: int,
        now: datetime,
        up_to: int,
        unit_id: int | None = None,
    ) -> int | None:
        """Revoke the open links (of one unit, or all of the campaign) that existed when the
        coordinator was asked: ids up to `up_to`, so a link issued since stays valid.
        Returns how many were revoked (0: already done), None if not the actor's."""
        if not _may(actor, campaign_id):
            return None
        async with self.sessions.begin() as s:
            q = revocable_invites(campaign_id, now).where(m.Invite.id <= up_to)
            if unit_id is not None:
                q = q.where(m.Invite.unit_id == unit_id)
            invites = (await s.scalars(q.with_for_update())).all()
            for invite in invites:
                invite.revoked_at = now
            return len(invites)

    async def unbind(
        self, actor: Actor | None, membership_id: int, person_id: int, now: datetime
    ) -> Unbound | None:
        """Take a liaison or deputy off their unit: they lose access at once, what they
        submitted stays theirs, and the unit's open links are revoked (the removed person
        may hold one). None when there is nothing to do: already unbound, or not the
        actor's to unbind."""
        async with self.sessions.begin() as s:
            ms = await s.get(m.Membership, membership_id, with_for_update=True)
            if (
                ms is None
                or ms.person_id != person_id
                or ms.unit_id is None
                or not _may(actor, ms.campaign_id)
            ):
                return None
            person = await s.get_one(m.Person, ms.person_id)
            unit = await s.get_one(m.Unit, ms.unit_id)
            campaign = await s.get_one(m.Campaign, ms.campaign_id)
            invites = (
                await s.scalars(
                    revocable_invites(campaign.id, now).where(m.Invite.unit_id == unit.id)
                )
            ).all()
            for invite in invites:
                invite.revoked_at = now
            role = Role(ms.role)
            await s.delete(ms)
        return Unbound(
            campaign.code,
            campaign.name,
            unit.id,
            unit.code,
            unit.name,
            role,
            person.display_name,
            Address(person.platform, person.external_id),
            person.language,
            len(invites),
        )

    async def unit_of_membership(
        self, actor: Actor | None, membership_id: int, person_id: int
    ) -> tuple[str, Role, str] | None:
        """(person's name, role, unit name) of a seat still held; None once it is not."""
        async with self.sessions() as s:
            row = (
                await s.execute(
                    select(
                        m.Membership.campaign_id,
                        m.Membership.role,
                        m.Person.display_name,
                        m.Unit.name.label("unit_name"),
                    )
                    .join(m.Person, m.Person.id == m.Membership.person_id)
                    .join(m.Unit, m.Unit.id == m.Membership.unit_id)
                    .where(m.Membership.id == membership_id, m.Membership.person_id == person_id)
                )
            ).first()
        if row is None or not _may(actor, row.campaign_id):
            return None
        return row.display_name, Role(row.role), row.unit_name

    async def holder(self, campaign_id: int, unit_code: str, role: Role) -> tuple[int, int] | None:
        """(membership id, person id) of a unit's liaison or deputy, for the command line."""
        async with self.sessions() as s:
            row = (
                await s.execute(
                    select(m.Membership.id, m.Membership.person_id)
                    .join(m.Unit, m.Unit.id == m.Membership.unit_id)
                    .where(
                        m.Unit.campaign_id == campaign_id,
                        m.Unit.code == unit_code,
                        m.Membership.role == role.value,
                    )
                )
            ).first()
        return (row.id, row.person_id) if row is not None else None

    async def preview_import(
        self, actor: Actor | None, campaign_id: int, listed: Sequence[ListedUnit]
    ) -> ImportPreview | None:
        """What a unit list would change in a campaign: only units it adds; existing ones
        are never renamed or retired by it."""
        if not _may(actor, campaign_id):
            return None
        async with self.sessions() as s:
            campaign = await s.get_one(m.Campaign, campaign_id)
            version = await _current_plan(s, campaign)
        plan = parse_plan(version.source_text, version.source_name, check_reminders=False)
        return ImportPreview(
            campaign.id, campaign.name, version.version, merge_unit_list(plan, listed)
        )

    async def import_units(
        self,
        actor: Actor | None,
        campaign_id: int,
        version: int,
        listed: Sequence[ListedUnit],
        now: datetime,
    ) -> LoadReport | None:
        """Add the listed units the campaign does not have, as a new plan version. None if
        the plan changed since the preview (built on `version`) or nothing is left to add:
        a second confirmation adds nothing."""
        preview = await self.preview_import(actor, campaign_id, listed)
        if preview is None or preview.version != version or not preview.merge.added:
            return None
        async with self.sessions() as s:
            current = await _current_plan(s, await s.get_one(m.Campaign, campaign_id))
        text = add_units_to_plan_text(current.source_text, preview.merge.added)
        plan = parse_plan(text, current.source_name, check_reminders=False)
        report = await load_plan(
            self.sessions, plan, current.source_name, text, now, self.calendar_overrides
        )
        # Two taps at once both get here; the plan text is the same, so the second loads
        # nothing ("unchanged") and counts as done already.
        return None if report.unchanged else report


def _may(actor: Actor | None, campaign_id: int) -> bool:
    """None is the command line's operator, who holds the database itself."""
    return actor is None or actor.coordinates(campaign_id)


async def _current_plan(s: AsyncSession, campaign: m.Campaign) -> m.PlanVersion:
    version = await s.scalar(
        select(m.PlanVersion).where(
            m.PlanVersion.campaign_id == campaign.id,
            m.PlanVersion.version == campaign.current_version,
        )
    )
    if version is None:
        raise LookupError(campaign.code)
    return version


async def _last_activity(s: AsyncSession, campaign_id: int) -> dict[int, datetime]:
    """Each person's newest submission or draft change in the campaign."""
    subs = (
        select(
            m.Submission.submitted_by.label("person"),
            func.max(m.Submission.submitted_at).label("at"),
        )
        .join(m.Deadline, m.Deadline.id == m.Submission.deadline_id)
        .where(m.Deadline.campaign_id == campaign_id, m.Submission.submitted_by.is_not(None))
        .group_by(m.Submission.submitted_by)
    )
    drafts = (
        select(m.Draft.person_id.label("person"), func.max(m.Draft.updated_at).label("at"))
        .join(m.Deadline, m.Deadline.id == m.Draft.deadline_id)
        .where(m.Deadline.campaign_id == campaign_id)
        .group_by(m.Draft.person_id)
    )
    latest: dict[int, datetime] = {}
    for q in (subs, drafts):
        for row in (await s.execute(q)).all():
            if row.person is not None and row.at is not None:
                latest[row.person] = max(latest.get(row.person, row.at), row.at)
    return latest
