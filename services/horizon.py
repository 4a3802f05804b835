"""Open-ended plans (no end date) are expanded one year ahead at load; as time passes the
horizon moves with it. Run daily: the deadlines a plan now has inside the year ahead that
the database lacks are added, nothing stored is changed (that is what a load does)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.plan import CalendarOverrides
from domain.plan_toml import parse_plan
from scheduler.calendar import WorkdayCalendar, package_years
from scheduler.deadlines import expand_plan
from services.access import Role
from storage import models as m
from storage.repositories import CampaignRepo, DeadlineRepo, ObligationRepo


async def extend_open_ended(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    calendar_overrides: CalendarOverrides | None = None,
) -> int:
    """Add the deadlines that came inside the horizon since the plans were loaded; the
    number added. One transaction for all campaigns."""
    added = 0
    async with sessions.begin() as s:
        campaigns = CampaignRepo(s)
        for campaign in await campaigns.all():
            if campaign.end is not None:
                continue
            latest = await campaigns.latest_plan(campaign.id)
            if latest is None:
                continue
            plan = parse_plan(latest.source_text, latest.source_name)
            calendar = WorkdayCalendar(calendar_overrides or CalendarOverrides(), plan.calendar)
            expansion = expand_plan(plan, now, calendar)
            obligations = {o.code: o.id for o in await ObligationRepo(s).of_campaign(campaign.id)}
            repo = DeadlineRepo(s)
            stored = {(d.obligation_id, d.key) for d in await repo.of_campaign(campaign.id)}
            rows = [
                {
                    "campaign_id": campaign.id,
                    "obligation_id": obligations[d.obligation_id],
                    "key": d.key,
                    "seq": d.seq,
                    "due_at": d.due,
                    "cancelled": False,
                    "plan_version": latest.version,
                    "period_start": d.period[0] if d.period else None,
                    "period_end": d.period[1] if d.period else None,
                }
                for d in expansion.deadlines
                if d.obligation_id in obligations
                and d.due > now
                and (obligations[d.obligation_id], d.key) not in stored
            ]
            await repo.insert_many(rows)
            added += len(rows)
    return added


@dataclass(frozen=True)
class CalendarGap:
    """A campaign with deadlines (or the nudges after them) in a year the holiday data does
    not cover and nobody declared complete: its coordinators must be told once."""

    campaign: str
    year: int
    coordinators: tuple[str, ...]  # external ids


# Nudges follow a deadline for up to about a week of working days (overdue-5).
NUDGES_AFTER = timedelta(days=8)


async def untold_calendar_gaps(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    calendar_overrides: CalendarOverrides | None = None,
    deployment_coordinators: Sequence[str] = (),
) -> list[CalendarGap]:
    """Each campaign's coming years without holiday data, not told before; recorded as
    told in the same transaction (a notice that fails to send is not repeated)."""
    overrides = calendar_overrides or CalendarOverrides()
    last_known = package_years()[1]
    gaps: list[CalendarGap] = []
    async with sessions.begin() as s:
        campaigns = CampaignRepo(s)
        for campaign in await campaigns.all():
            latest = await campaigns.latest_plan(campaign.id)
            if latest is None:
                continue
            plan = parse_plan(latest.source_text, latest.source_name)
            complete = overrides.complete_years | plan.calendar.complete_years
            dues = [
                d.due_at
                for d in await DeadlineRepo(s).of_campaign(campaign.id)
                if d.due_at > now and not d.cancelled
            ]
            years = {day.year for due in dues for day in (due, due + NUDGES_AFTER)}
            years = {y for y in years if y > last_known and y not in complete}
            told = set(
                (
                    await s.scalars(
                        select(m.CalendarNotice.year).where(
                            m.CalendarNotice.campaign_id == campaign.id
                        )
                    )
                ).all()
            )
            for year in sorted(years - told):
                s.add(m.CalendarNotice(campaign_id=campaign.id, year=year, notified_at=now))
                people = set(deployment_coordinators) | set(
                    (
                        await s.scalars(
                            select(m.Person.external_id)
                            .join(m.Membership, m.Membership.person_id == m.Person.id)
                            .where(
                                m.Membership.campaign_id == campaign.id,
                                m.Membership.role == Role.COORDINATOR,
                            )
                        )
                    ).all()
                )
                gaps.append(CalendarGap(campaign.name, year, tuple(sorted(people))))
    return gaps
