"""The rules behind managing people, on every backend: which links a revocation reaches,
unbinding and issuing a new link only once however often it is confirmed, a retired
unit's link binding nobody, last activity, and a unit list adding units as a revision."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from domain.plan_toml import parse_plan
from domain.unit_list import ListedUnit
from services.access import AccessService, InviteProblem, Redeemed, Refused, Role
from services.people import PeopleService
from services.plans import load_plan
from storage import models as m
from storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
CAMPAIGN = "daguan-2017-anticounterfeit"


async def _campaign(db: Database, now: datetime) -> int:
    text = DAGUAN.read_text(encoding="utf-8")
    await load_plan(
        db.sessions, parse_plan(text, DAGUAN.name), DAGUAN.name, text, now - timedelta(days=60)
    )
    found = await PeopleService(db.sessions).campaign_id(CAMPAIGN)
    assert found is not None
    return found


async def _bind(access: AccessService, token: str, user: str, now: datetime) -> Redeemed:
    actor = await access.identify(user, f"user {user}", None, now)
    result = await access.redeem(token, actor, now)
    assert isinstance(result, Redeemed), result
    return result


async def _rows(db: Database, model: type[m.Base]) -> list[object]:
    async with db.sessions() as s:
        return list((await s.scalars(select(model))).all())


async def test_a_revocation_reaches_only_the_links_there_were_when_it_was_asked(
    database: Database, now: datetime
) -> None:
    campaign_id = await _campaign(database, now)
    access, people = AccessService(database.sessions), PeopleService(database.sessions)
    first = await access.create_invites(CAMPAIGN, now, 14)
    asked = (await people.holdings(campaign_id, now)).newest_link
    later = await access.create_invites(CAMPAIGN, now, 14, ["dekuan"])

    assert await people.revoke(None, campaign_id, now, asked) == len(first)
    assert await people.revoke(None, campaign_id, now, asked) == 0

    actor = await access.identify("1", "a", None, now)
    assert await access.redeem(first[0].token, actor, now) == Refused(InviteProblem.UNKNOWN)
    assert isinstance(await access.redeem(later[0].token, actor, now), Redeemed)


async def test_unbinding_twice_unbinds_once_and_the_submission_stays_theirs(
    database: Database, now: datetime
) -> None:
    campaign_id = await _campaign(database, now)
    access, people = AccessService(database.sessions), PeopleService(database.sessions)
    [link] = await access.create_invites(CAMPAIGN, now, 14, ["dekuan"])
    seat = (await _bind(access, link.token, "1", now)).seat
    async with database.sessions.begin() as s:
        person = await s.scalar(select(m.Person).where(m.Person.external_id == "1"))
        deadline = await s.scalar(select(m.Deadline).where(m.Deadline.campaign_id == campaign_id))
        assert person is not None and deadline is not None
        s.add(
            m.Submission(
                deadline_id=deadline.id,
                unit_id=seat.unit_id,
                revision=1,
                answers={},
                submitted_by=person.id,
                submitted_at=now,
            )
        )
    held = await people.holder(campaign_id, "dekuan", Role.LIAISON)
    assert held is not None

    gone = await people.unbind(None, *held, now)
    again = await people.unbind(None, *held, now)

    assert gone is not None and (gone.unit_name, gone.role, gone.links_revoked) == (
        "德宽路市场监管所",
        Role.LIAISON,
        1,
    )
    assert again is None
    assert await people.holder(campaign_id, "dekuan", Role.LIAISON) is None
    [submission] = await _rows(database, m.Submission)
    assert isinstance(submission, m.Submission) and submission.submitted_by == person.id
    # The link they used is revoked with the unit's others: nobody rebinds through it.
    stranger = await access.identify("2", "b", None, now)
    assert await access.redeem(link.token, stranger, now) == Refused(InviteProblem.UNKNOWN)


async def test_a_new_link_confirmed_twice_is_issued_once(
    database: Database, now: datetime
) -> None:
    campaign_id = await _campaign(database, now)
    access, people = AccessService(database.sessions), PeopleService(database.sessions)
    [old] = await access.create_invites(CAMPAIGN, now, 14, ["dekuan"])
    asked = (await people.holdings(campaign_id, now)).newest_link

    first = await access.create_invites(
        CAMPAIGN, now, 14, ["dekuan"], revoke_older=True, unless_newer_than=asked
    )
    second = await access.create_invites(
        CAMPAIGN, now, 14, ["dekuan"], revoke_older=True, unless_newer_than=asked
    )

    assert len(first) == 1 and second == []
    assert len(await _rows(database, m.Invite)) == 2
    actor = await access.identify("1", "a", None, now)
    assert await access.redeem(old.token, actor, now) == Refused(InviteProblem.UNKNOWN)


async def test_a_link_of_a_retired_unit_is_refused_like_an_expired_one(
    database: Database, now: datetime
) -> None:
    await _campaign(database, now)
    access = AccessService(database.sessions)
    [link] = await access.create_invites(CAMPAIGN, now, 14, ["haikou"])
    text = DAGUAN.read_text(encoding="utf-8").replace(
        '[[units]]\nid = "haikou"\nname = "海口市场监管所"\ngroup = "市场监管所"\n', ""
    )
    await load_plan(database.sessions, parse_plan(text, DAGUAN.name), DAGUAN.name, text, now)
    actor = await access.identify("1", "a", None, now)

    assert await access.redeem(link.token, actor, now) == Refused(InviteProblem.EXPIRED)
    assert await _rows(database, m.Membership) == []


async def test_a_unit_whose_liaison_left_binds_its_next_person_as_liaison(
    database: Database, now: datetime
) -> None:
    campaign_id = await _campaign(database, now)
    access, people = AccessService(database.sessions), PeopleService(database.sessions)
    [link] = await access.create_invites(CAMPAIGN, now, 14, ["dekuan"])
    await _bind(access, link.token, "1", now)
    await _bind(access, link.token, "2", now)
    held = await people.holder(campaign_id, "dekuan", Role.LIAISON)
    assert held is not None
    await people.unbind(None, *held, now)
    [fresh] = await access.create_invites(CAMPAIGN, now, 14, ["dekuan"])

    seat = (await _bind(access, fresh.token, "3", now)).seat

    assert seat.role is Role.LIAISON


async def test_last_activity_is_the_newest_submission_or_draft_else_the_binding(
    database: Database, now: datetime
) -> None:
    campaign_id = await _campaign(database, now)
    access, people = AccessService(database.sessions), PeopleService(database.sessions)
    [link] = await access.create_invites(CAMPAIGN, now, 14, ["dekuan"])
    seat = (await _bind(access, link.token, "1", now)).seat
    await _bind(access, link.token, "2", now + timedelta(hours=1))
    async with database.sessions.begin() as s:
        person = await s.scalar(select(m.Person).where(m.Person.external_id == "1"))
        deadline = await s.scalar(select(m.Deadline).where(m.Deadline.campaign_id == campaign_id))
        assert person is not None and deadline is not None and seat.unit_id is not None
        s.add(
            m.Draft(
                person_id=person.id,
                deadline_id=deadline.id,
                unit_id=seat.unit_id,
                state={},
                updated_at=now + timedelta(hours=3),
            )
        )

    [unit] = [u for u in (await people.holdings(campaign_id, now)).units if u.code == "dekuan"]

    assert [(h.role, h.last_active) for h in unit.people] == [
        (Role.LIAISON, now + timedelta(hours=3)),
        (Role.DEPUTY, now + timedelta(hours=1)),
    ]


async def test_a_unit_list_adds_units_as_a_new_version_and_never_retires_or_renames(
    database: Database, now: datetime
) -> None:
    campaign_id = await _campaign(database, now)
    people = PeopleService(database.sessions)
    listed = [ListedUnit("德宽路市场监管所", "股室", row=2), ListedUnit("综合科", "股室", row=3)]

    preview = await people.preview_import(None, campaign_id, listed)
    assert preview is not None
    report = await people.import_units(None, campaign_id, preview.version, listed, now)
    again = await people.import_units(None, campaign_id, preview.version, listed, now)

    assert report is not None and (report.version, report.units_added, report.units_retired) == (
        2,
        1,
        0,
    )
    assert again is None
    assert preview.merge.regrouped == ("德宽路市场监管所",)
    units = {
        u.name: (u.group, u.active) for u in await _rows(database, m.Unit) if isinstance(u, m.Unit)
    }
    assert units["综合科"] == ("股室", True)
    assert units["德宽路市场监管所"] == ("市场监管所", True)
    assert all(active for _, active in units.values()) and len(units) == 7
