"""Bindings offered to the people a plan names for its units (`liaison = { mobile = … }`):
on a platform that can reach a person by an id the plan gives (DingTalk's userid, or a
mobile looked up there), the bot sends each of them, once, a message to bind with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.plan import Contact
from services.access import AccessService
from services.campaign_reads import PlanRegistry
from storage import models as m
from storage.db import upsert


@dataclass(frozen=True)
class Offer:
    campaign_id: int
    campaign_code: str
    campaign_name: str
    unit_id: int
    unit_code: str
    unit_name: str
    contact: Contact

    @property
    def key(self) -> str:
        c = self.contact
        return f"dingtalk:{c.dingtalk}" if c.dingtalk else f"mobile:{c.mobile}"


class JoinOfferService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        plans: PlanRegistry,
        access: AccessService,
        invite_days: int,
    ) -> None:
        self.sessions, self.plans, self.access = sessions, plans, access
        self.invite_days = invite_days

    async def pending(self, now: datetime) -> list[Offer]:
        """The contacts of running campaigns' active units not offered a binding yet."""
        newest = (
            select(m.PlanVersion.campaign_id, func.max(m.PlanVersion.version).label("v"))
            .group_by(m.PlanVersion.campaign_id)
            .subquery()
        )
        async with self.sessions() as s:
            campaigns = (
                await s.execute(
                    select(m.Campaign.id, m.Campaign.code, m.Campaign.name, newest.c.v).join(
                        newest, newest.c.campaign_id == m.Campaign.id
                    )
                )
            ).all()
            offered = {
                (row.campaign_id, row.unit_id, row.contact)
                for row in (
                    await s.execute(
                        select(m.JoinOffer.campaign_id, m.JoinOffer.unit_id, m.JoinOffer.contact)
                    )
                ).all()
            }
            units = {
                (u.campaign_id, u.code): u
                for u in (await s.scalars(select(m.Unit).where(m.Unit.active.is_(True)))).all()
            }
            found: list[Offer] = []
            for campaign_id, code, name, version in campaigns:
                plan = await self.plans.plan_at(s, campaign_id, version)
                end = plan.period.end
                if end is not None and end < now.astimezone(ZoneInfo(plan.timezone)).date():
                    continue  # over: nobody to bind now
                for unit in plan.units:
                    row = units.get((campaign_id, unit.id))
                    if row is None:
                        continue
                    for contact in unit.contacts:
                        offer = Offer(campaign_id, code, name, row.id, row.code, row.name, contact)
                        if (campaign_id, row.id, offer.key) not in offered:
                            found.append(offer)
        return found

    async def claim(self, offer: Offer, user_id: str, outcome: str, now: datetime) -> bool:
        """Record the offer as made (True), or False if another process made it first."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                upsert(s, m.JoinOffer)
                .values(
                    campaign_id=offer.campaign_id,
                    unit_id=offer.unit_id,
                    contact=offer.key,
                    user_id=user_id,
                    outcome=outcome,
                    offered_at=now,
                )
                .on_conflict_do_nothing()
            )
            claimed = bool(getattr(result, "rowcount", 0))
        if claimed and user_id:
            # Known from now on, so that their reply to the offer (a number) is theirs.
            await self.access.identify(user_id, offer.contact.name, None, now)
        return claimed

    async def settle(self, offer: Offer, outcome: str) -> None:
        """What became of an offer claimed earlier (failed: it is not tried again)."""
        async with self.sessions.begin() as s:
            row = await s.get(m.JoinOffer, (offer.campaign_id, offer.unit_id, offer.key))
            if row is not None:
                row.outcome = outcome

    async def token(self, offer: Offer, now: datetime) -> str:
        """A fresh invitation to the offer's unit (liaison first, then deputy, as a link)."""
        [issued] = await self.access.create_invites(
            offer.campaign_code, now, self.invite_days, [offer.unit_code]
        )
        return issued.token
