"""Who may do what: identities, roles and invitations (deep-link tokens)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ports import Address
from storage import models as m
from storage.db import single_read
from storage.handled import idempotent
from storage.repositories import PersonRepo


class Role(StrEnum):
    COORDINATOR = "coordinator"
    LIAISON = "liaison"
    DEPUTY = "deputy"
    LEADER = "leader"  # a unit's 分管领导 / 负责人: told when it is escalated, sees it read-only


REPORTING = (Role.LIAISON.value, Role.DEPUTY.value)  # the roles that report for a unit


@dataclass(frozen=True)
class Seat:
    """One role of a person in one campaign (a unit for liaisons and deputies)."""

    campaign_id: int
    campaign_code: str
    campaign_name: str
    role: Role
    unit_id: int | None = None
    unit_name: str = ""


@dataclass(frozen=True)
class Actor:
    person_id: int
    external_id: str
    language: str | None
    seats: tuple[Seat, ...]
    global_coordinator: bool = False

    @property
    def is_coordinator(self) -> bool:
        return self.global_coordinator or any(s.role is Role.COORDINATOR for s in self.seats)

    @property
    def unit_seats(self) -> tuple[Seat, ...]:
        """The seats that report for a unit (liaison, deputy)."""
        return tuple(s for s in self.seats if s.unit_id is not None and s.role is not Role.LEADER)

    @property
    def leader_seats(self) -> tuple[Seat, ...]:
        return tuple(s for s in self.seats if s.role is Role.LEADER)

    def leads(self, unit_id: int) -> bool:
        return any(s.unit_id == unit_id for s in self.leader_seats)

    @property
    def is_known(self) -> bool:
        return self.is_coordinator or bool(self.unit_seats) or bool(self.leader_seats)

    def unit_ids(self) -> set[int]:
        return {s.unit_id for s in self.unit_seats if s.unit_id is not None}

    def coordinates(self, campaign_id: int) -> bool:
        return self.global_coordinator or any(
            s.role is Role.COORDINATOR and s.campaign_id == campaign_id for s in self.seats
        )


@dataclass(frozen=True)
class IssuedInvite:
    unit_code: str | None
    unit_name: str
    token: str
    expires_at: datetime
    invite_id: int = 0
    unit_group: str = ""


class InviteProblem(StrEnum):
    UNKNOWN = "unknown"  # forged, mistyped or revoked: the same answer, nothing leaks
    EXPIRED = "expired"
    USED = "used"
    UNIT_FULL = "unit_full"
    ALREADY_BOUND = "already_bound"


@dataclass(frozen=True)
class Redeemed:
    seat: Seat


@dataclass(frozen=True)
class Refused:
    problem: InviteProblem


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccessService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        coordinator_ids: Sequence[str] = (),
        platform: str = "telegram",
    ) -> None:
        self.sessions = sessions
        self.coordinator_ids = frozenset(coordinator_ids)
        self.platform = platform

    async def identify(
        self, external_id: str, display_name: str, language: str | None, now: datetime
    ) -> Actor:
        """The actor behind a chat user; a person row is made for anyone who writes to us,
        but carries no rights until a role is bound."""
        name = display_name[:200]
        # Every update runs this, so the usual case is one SELECT (the person and all their
        # roles) outside any transaction; a write follows only for a newcomer, a new name
        # or someone who had blocked the bot.
        async with self.sessions() as s:
            await single_read(s)
            person = await PersonRepo(s).with_seats(self.platform, external_id)
        if person is None or not person.reachable or (name and person.display_name != name):
            # Done again, it changes nothing: it must not mark the update handled.
            with idempotent():
                async with self.sessions.begin() as s:
                    people = PersonRepo(s)
                    person = await people.with_seats(self.platform, external_id)
                    if person is None:
                        person_id = await people.add(self.platform, external_id, name, now)
                        return Actor(
                            person_id, external_id, None, (), external_id in self.coordinator_ids
                        )
                    # They wrote to us: they go by this name now, and can be reached again.
                    await people.touch(person.id, name or person.display_name)
        seats = tuple(
            Seat(
                r.campaign_id,
                r.campaign_code,
                r.campaign_name,
                Role(r.role),
                r.unit_id,
                r.unit_name,
            )
            for r in person.seats
        )
        return Actor(
            person.id, external_id, person.language, seats, external_id in self.coordinator_ids
        )

    async def languages_of(self, people: Sequence[Address]) -> dict[Address, str | None]:
        """The language each person chose (None: the bot's default), to write to them in."""
        if not people:
            return {}
        async with self.sessions() as s:
            q = select(m.Person.platform, m.Person.external_id, m.Person.language).where(
                m.Person.external_id.in_({p.external_id for p in people})
            )
            found = {Address(p, x): lang for p, x, lang in (await s.execute(q)).all()}
        return {p: found.get(p) for p in people}

    async def mark_unreachable(self, to: Address) -> None:
        """The platform said this person blocked the bot: left out of nudges (and shown
        with ⚠ in /units) until they write to the bot again."""
        async with self.sessions.begin() as s:
            person = await s.scalar(
                select(m.Person).where(
                    m.Person.platform == to.platform, m.Person.external_id == to.external_id
                )
            )
            if person is not None:
                person.reachable = False

    async def set_language(self, person_id: int, language: str) -> None:
        async with self.sessions.begin() as s:
            person = await s.get_one(m.Person, person_id)
            person.language = language

    async def create_invites(
        self,
        campaign_code: str,
        now: datetime,
        days: int,
        unit_codes: Sequence[str] | None = None,
        role: Role = Role.LIAISON,
        *,
        revoke_older: bool = False,
        unless_newer_than: int | None = None,
    ) -> list[IssuedInvite]:
        """One fresh token per unit (or one coordinator token when role is coordinator);
        `revoke_older` revokes, in the same transaction, the links of those units (or the
        campaign's coordinator links) that could still bind someone. With
        `unless_newer_than`, nothing is issued (an empty list) if one of those units got a
        link after that invite id: a confirmation tapped twice issues once."""
        async with self.sessions.begin() as s:
            campaign = await s.scalar(select(m.Campaign).where(m.Campaign.code == campaign_code))
            if campaign is None:
                raise LookupError(campaign_code)
            expires = now + timedelta(days=days)
            targets: list[m.Unit | None]
            if role is Role.COORDINATOR:
                targets = [None]
            else:
                q = (
                    select(m.Unit)
                    .where(m.Unit.campaign_id == campaign.id, m.Unit.active.is_(True))
                    .order_by(m.Unit.position)
                )
                units = list((await s.scalars(q)).all())
                if unit_codes:
                    unknown = set(unit_codes) - {u.code for u in units}
                    if unknown:
                        raise LookupError(", ".join(sorted(unknown)))
                    units = [u for u in units if u.code in unit_codes]
                targets = list(units)
            if unless_newer_than is not None:
                unit_ids = [u.id for u in targets if u is not None]
                # The units' rows are locked first: two taps in two processes queue here.
                await s.execute(select(m.Unit.id).where(m.Unit.id.in_(unit_ids)).with_for_update())
                newer = await s.scalar(
                    select(m.Invite.id)
                    .where(m.Invite.unit_id.in_(unit_ids), m.Invite.id > unless_newer_than)
                    .limit(1)
                )
                if newer is not None:
                    return []
            if revoke_older:
                unit_ids = [u.id for u in targets if u is not None]
                older = revocable_invites(campaign.id, now).where(
                    m.Invite.unit_id.in_(unit_ids) if unit_ids else m.Invite.unit_id.is_(None)
                )
                for invite in (await s.scalars(older)).all():
                    invite.revoked_at = now
            made = []
            for unit in targets:
                token = secrets.token_urlsafe(24)  # 192 bits; fits Telegram's 64-char payload
                made.append(
                    (
                        unit,
                        token,
                        m.Invite(
                            token_hash=token_hash(token),
                            campaign_id=campaign.id,
                            unit_id=unit.id if unit else None,
                            role=role.value,
                            created_at=now,
                            expires_at=expires,
                        ),
                    )
                )
            s.add_all([row for _, _, row in made])
            await s.flush()  # one batch for a province's thousands; the ids come back
        return [
            IssuedInvite(
                unit.code if unit else None,
                unit.name if unit else "",
                token,
                expires,
                row.id,
                unit.group if unit else "",
            )
            for unit, token, row in made
        ]

    async def redeem(self, token: str, actor: Actor, now: datetime) -> Redeemed | Refused:
        async with self.sessions.begin() as s:
            q = select(m.Invite).where(m.Invite.token_hash == token_hash(token)).with_for_update()
            invite = await s.scalar(q)
            if invite is None or invite.revoked_at is not None:
                return Refused(InviteProblem.UNKNOWN)
            bound_here = any(seat.campaign_id == invite.campaign_id for seat in actor.seats)
            if invite.used_at is not None and invite.used_by == actor.person_id:
                # Someone unbound since cannot come back through the link they once used.
                return Refused(
                    InviteProblem.ALREADY_BOUND if bound_here else InviteProblem.UNKNOWN
                )
            # A unit's link binds two people (liaison, then deputy), so only a used
            # coordinator link is spent; a unit link is spent once the unit is full.
            single = invite.unit_id is None or invite.role == Role.LEADER
            if invite.used_at is not None and single:
                return Refused(InviteProblem.USED)
            if invite.expires_at <= now:
                return Refused(InviteProblem.EXPIRED)
            if bound_here:
                return Refused(InviteProblem.ALREADY_BOUND)
            role = Role(invite.role)
            if invite.unit_id is not None:
                unit = await s.get_one(m.Unit, invite.unit_id)
                if not unit.active:  # retired by a plan revision: the link is dead
                    return Refused(InviteProblem.EXPIRED)
                held = set(
                    (
                        await s.scalars(
                            select(m.Membership.role).where(m.Membership.unit_id == invite.unit_id)
                        )
                    ).all()
                )
                if role is Role.LEADER:  # one leader a unit, by a link of their own
                    if Role.LEADER.value in held:
                        return Refused(InviteProblem.UNIT_FULL)
                else:
                    free = free_roles(held)
                    if not free:
                        return Refused(InviteProblem.UNIT_FULL)
                    role = free[0]
            s.add(
                m.Membership(
                    campaign_id=invite.campaign_id,
                    person_id=actor.person_id,
                    unit_id=invite.unit_id,
                    role=role.value,
                    created_at=now,
                )
            )
            if invite.used_at is None:  # the first holder is kept as the one who used it
                invite.used_at, invite.used_by = now, actor.person_id
            await s.flush()
            seat = next(
                x for x in await _seats(s, actor.person_id) if x.campaign_id == invite.campaign_id
            )
        return Redeemed(seat)


def free_roles(held: set[str]) -> tuple[Role, ...]:
    """The seats of a unit a link can still fill, in the order it fills them: the first
    person is its liaison, the next its deputy (a unit whose liaison was unbound gets a
    liaison again, not a second deputy)."""
    return tuple(r for r in (Role.LIAISON, Role.DEPUTY) if r.value not in held)


def revocable_invites(campaign_id: int, now: datetime) -> Select[m.Invite]:
    """The campaign's links that could still bind someone: not revoked, not expired, and
    unused or a unit's (a used unit link still binds the unit's second person)."""
    return (
        select(m.Invite)
        .where(
            m.Invite.campaign_id == campaign_id,
            m.Invite.revoked_at.is_(None),
            m.Invite.expires_at > now,
            or_(
                m.Invite.used_at.is_(None),
                m.Invite.unit_id.is_not(None) & (m.Invite.role != Role.LEADER.value),
            ),
        )
        .order_by(m.Invite.id)
    )


async def _seats(s: AsyncSession, person_id: int) -> list[Seat]:
    q = (
        select(m.Membership, m.Campaign, m.Unit)
        .join(m.Campaign, m.Campaign.id == m.Membership.campaign_id)
        .outerjoin(m.Unit, m.Unit.id == m.Membership.unit_id)
        .where(m.Membership.person_id == person_id)
        .order_by(m.Campaign.id)
    )
    return [
        Seat(c.id, c.code, c.name, Role(ms.role), u.id if u else None, u.name if u else "")
        for ms, c, u in (await s.execute(q)).all()
    ]
