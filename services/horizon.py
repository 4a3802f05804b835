"""Open-ended plans (no end date) are expanded one year ahead at load; as time passes the
horizon moves with it. Run daily: the deadlines a plan now has inside the year ahead that
the database lacks are added, nothing stored is changed (that is what a load does)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.plan import CalendarOverrides
from domain.plan_toml import parse_plan
from scheduler.calendar import WorkdayCalendar
from scheduler.deadlines import expand_plan
from storage.repositories import CampaignRepo, DeadlineRepo, ObligationRepo


async def extend_open_ended(sessions: async_sessionmaker[AsyncSession], now: datetime,
                            calendar_overrides: CalendarOverrides | None = None) -> int:
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
            rows = [{"campaign_id": campaign.id, "obligation_id": obligations[d.obligation_id],
                     "key": d.key, "seq": d.seq, "due_at": d.due, "cancelled": False,
                     "plan_version": latest.version,
                     "period_start": d.period[0] if d.period else None,
                     "period_end": d.period[1] if d.period else None}
                    for d in expansion.deadlines
                    if d.obligation_id in obligations and d.due > now
                    and (obligations[d.obligation_id], d.key) not in stored]
            await repo.insert_many(rows)
            added += len(rows)
    return added
