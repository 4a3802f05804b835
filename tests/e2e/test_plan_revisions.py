"""Campaigns created in the chat never collide, and a plan sent over an existing campaign
changes it only once its coordinator has seen the difference and confirmed it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from fakegram import ChatMessage
from services.access import AccessService, Role
from storage import models as m
from tests.e2e.harness import COORDINATOR, DAGUAN, LINK, ROOT, Harness

CAMPAIGN = "daguan-2017-anticounterfeit"
DAGUAN_NOTICE = (ROOT / "tests" / "data" / "seeds" / "000_120f0acc1c4bbbb9.txt").read_text(
    encoding="utf-8"
)
STATISTICS_NOTICE = (
    "关于报送2016年度安全生产统计数据的通知\n\n各单位:\n"
    "请于2016年12月20日前将统计报表报送区局办公室。\n\n区安委办\n2016年12月12日"
)
FIRE_NOTICE = (
    "关于开展冬季消防检查的通知\n\n各所:\n请于2016年12月28日前报送检查情况总结。"
    "每周五17:00前报送检查进度。\n\n区局\n2016年12月13日"
)
LIAISON, SECOND_COORDINATOR = 3001, 3002
PLAN_TEXT = DAGUAN.read_text(encoding="utf-8")


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# 玉琳路所 renamed (its liaison bound, a report in), the final summary a day later.
REVISED = _edit(
    _edit(PLAN_TEXT, 'name = "玉琳路市场监管所"', 'name = "甲所"'),
    "date = 2017-02-23 }",
    "date = 2017-02-24 }",
)


async def _paste_campaign(bot: Harness, user: int, notice: str, units: str) -> str:
    """/plan, paste the notice, accept what was found, name the units: the new campaign."""
    await bot.command(user, "plan")
    [_, found] = await bot.text(user, notice)  # "reading…", then what was found
    await bot.press(user, found, text="无误,下一步")
    created = await bot.text(user, units)
    assert "已载入" in (created[0].text or ""), created[0].text
    assert created[-1].document is not None
    return (created[-1].document.file_name or "").removesuffix(".toml")


async def _links(bot: Harness, campaign: str) -> dict[str, str]:
    links = {}
    for message in await bot.command(COORDINATOR, "invite", campaign):
        for line in (message.text or "").splitlines():
            if found := LINK.search(line):
                links[line.split(":")[0].lstrip("· ")] = found.group(1)
    return links


async def _nil_report(bot: Harness, user: int, deadline: str | None = None) -> None:
    """The liaison submits a 零报告 for the first deadline offered (or the one named)."""
    [pick] = await bot.command(user, "submit")
    if deadline is None:
        await bot.press(user, pick, data=pick.buttons[0]["callback_data"])
    else:
        await bot.press(user, pick, text=deadline)
    [done] = await bot.press(user, bot.last(user), text="零报告")
    assert "已提交零报告" in (done.text or ""), done.text


@dataclass(frozen=True)
class CampaignRows:
    name: str
    version: int
    units: list[Any]  # (id, code, name, group, position, active)
    members: list[Any]
    obligations: list[Any]
    deadlines: list[Any]
    submissions: list[Any]

    def unit_name(self, code: str) -> str:
        name: str = next(u[2] for u in self.units if u[1] == code)
        return name


async def _campaign_rows(bot: Harness, code: str) -> CampaignRows:
    """Everything about one campaign that another campaign's creation must not touch."""
    async with bot.db.sessions() as s:
        c = await s.scalar(select(m.Campaign).where(m.Campaign.code == code))
        assert c is not None
        units = [
            (u.id, u.code, u.name, u.group, u.position, u.active)
            for u in await s.scalars(
                select(m.Unit).where(m.Unit.campaign_id == c.id).order_by(m.Unit.id)
            )
        ]
        members = [
            (x.id, x.person_id, x.unit_id, x.role)
            for x in await s.scalars(
                select(m.Membership)
                .where(m.Membership.campaign_id == c.id)
                .order_by(m.Membership.id)
            )
        ]
        obligations = [
            (o.id, o.code, o.title, o.active)
            for o in await s.scalars(
                select(m.Obligation)
                .where(m.Obligation.campaign_id == c.id)
                .order_by(m.Obligation.id)
            )
        ]
        deadlines = [
            (d.id, d.obligation_id, d.key, d.due_at, d.cancelled, d.plan_version)
            for d in await s.scalars(
                select(m.Deadline).where(m.Deadline.campaign_id == c.id).order_by(m.Deadline.id)
            )
        ]
        submissions = [
            (x.id, x.deadline_id, x.unit_id, x.revision, x.status, x.nil)
            for x in await s.scalars(
                select(m.Submission)
                .join(m.Unit, m.Unit.id == m.Submission.unit_id)
                .where(m.Unit.campaign_id == c.id)
                .order_by(m.Submission.id)
            )
        ]
    return CampaignRows(
        c.name, c.current_version, units, members, obligations, deadlines, submissions
    )


async def _versions(bot: Harness, code: str = CAMPAIGN) -> int:
    async with bot.db.sessions() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(m.PlanVersion)
                .join(m.Campaign, m.Campaign.id == m.PlanVersion.campaign_id)
                .where(m.Campaign.code == code)
            )
            or 0
        )


async def _coordinator_of(bot: Harness, user: int, campaign: str) -> None:
    """Someone made coordinator of one campaign only (not of the whole deployment)."""
    [invite] = await AccessService(bot.db.sessions).create_invites(
        campaign, bot.clock.now, 7, None, Role.COORDINATOR
    )
    await bot.join(user, "刘协调", invite.token)


async def test_two_campaigns_created_from_pasted_notices_stay_separate(bot: Harness) -> None:
    first = await _paste_campaign(bot, COORDINATOR, STATISTICS_NOTICE, "甲所、乙所")
    links = await _links(bot, first)
    await bot.join(LIAISON, "李明", links["甲所"])
    await _nil_report(bot, LIAISON)
    before = await _campaign_rows(bot, first)
    assert len(before.submissions) == 1  # the report is in

    second = await _paste_campaign(bot, COORDINATOR, FIRE_NOTICE, "丙所")
    # The very same notice pasted again is another campaign too, not version 2 of the first.
    third = await _paste_campaign(bot, COORDINATOR, STATISTICS_NOTICE, "丁所")
    assert await _campaign_rows(bot, first) == before
    assert len({first, second, third}) == 3
    # A coordinator of another campaign creates one of their own: no "not yours".
    await _coordinator_of(bot, SECOND_COORDINATOR, CAMPAIGN)
    fourth = await _paste_campaign(bot, SECOND_COORDINATOR, FIRE_NOTICE, "戊所")

    codes = [first, second, third, fourth]
    assert len(set(codes)) == 4
    assert not {"notice", "campaign"} & set(codes)
    assert await _campaign_rows(bot, first) == before
    for code, unit in zip(codes[1:], ["丙所", "丁所", "戊所"], strict=True):
        rows = await _campaign_rows(bot, code)
        assert (rows.version, [u[2] for u in rows.units]) == (1, [unit])
    assert [x[3] for x in (await _campaign_rows(bot, fourth)).members] == ["coordinator"]


async def test_a_notice_file_with_a_chinese_name_twice_makes_two_campaigns(bot: Harness) -> None:
    codes = []
    for units in ("甲所", "乙所"):
        [_, found] = await bot.document(
            COORDINATOR, DAGUAN_NOTICE.encode(), "打假通知.txt", "text/plain"
        )
        await bot.press(COORDINATOR, found, text="无误,下一步")
        created = await bot.text(COORDINATOR, units)
        assert created[-1].document is not None
        codes.append((created[-1].document.file_name or "").removesuffix(".toml"))
    first, second = codes

    assert first != second and "campaign" not in codes
    assert [u[2] for u in (await _campaign_rows(bot, first)).units] == ["甲所"]
    assert await _versions(bot, first) == await _versions(bot, second) == 1


async def _bound_liaison_with_a_report(bot: Harness) -> None:
    links = await bot.invite_links()
    await bot.join(LIAISON, "李明", links["玉琳路市场监管所"])
    await _nil_report(bot, LIAISON, "信息周报第3期")


async def _send_revision(bot: Harness, text: str) -> ChatMessage:
    [shown] = await bot.document(COORDINATOR, text.encode(), "daguan.toml")
    return shown


async def test_a_plan_file_over_a_campaign_shows_the_difference_and_waits_for_confirm(
    bot: Harness,
) -> None:
    await _bound_liaison_with_a_report(bot)
    before = await _campaign_rows(bot, CAMPAIGN)
    snapshot = await bot.snapshot()

    shown = await _send_revision(bot, REVISED)

    text = shown.text or ""
    assert "活动 daguan-2017-anticounterfeit 已存在(现为第 1 版)" in text
    assert "单位改名 1 个:\n  · yulin 玉琳路市场监管所 → 甲所(⚠ 已绑定 1 人,已有报送 1 份)" in text
    assert "截止时间变更 1 个:\n  · 工作总结和典型案例 2017-02-23 17:30 → 2017-02-24 17:30" in text
    assert "注意:上面标 ⚠ 的 1 个单位已有人绑定或已有报送" in text
    assert [b["text"] for b in shown.buttons] == ["确认修改", "取消"]
    assert await _campaign_rows(bot, CAMPAIGN) == before  # nothing changes before confirm

    [applied] = await bot.press(COORDINATOR, shown, text="确认修改")

    assert "已载入 daguan-2017-anticounterfeit 第 2 版" in (applied.text or "")
    assert applied.buttons == []
    after = await _campaign_rows(bot, CAMPAIGN)
    assert (after.version, after.unit_name("yulin")) == (2, "甲所")
    # The people and the reports stay where they were.
    assert (after.members, after.submissions) == (before.members, before.submissions)
    assert (await bot.snapshot()).submissions == snapshot.submissions


async def test_tapping_confirm_twice_applies_the_revision_once(bot: Harness) -> None:
    shown = await _send_revision(bot, REVISED)
    mark = bot.last(COORDINATOR).message_id

    taps = [
        bot.fake.press_button(COORDINATOR, shown.message_id, text="确认修改") for _ in range(2)
    ]
    for tap in taps:
        await bot.fake.wait_for_callback_answer(tap)
    await bot.idle()

    assert await _versions(bot) == 2
    assert (await _campaign_rows(bot, CAMPAIGN)).version == 2
    assert "已载入 daguan-2017-anticounterfeit 第 2 版" in (shown.text or "")
    replies = [x.text for x in bot.fake.sent(COORDINATOR) if x.message_id > mark]
    assert replies == ["这次修改已经生效,无需再次确认。"]


async def test_a_cancelled_revision_changes_nothing_and_its_confirm_is_refused(
    bot: Harness,
) -> None:
    before = await _campaign_rows(bot, CAMPAIGN)
    shown = await _send_revision(bot, REVISED)
    prv = shown.buttons[0]["callback_data"]

    [cancelled] = await bot.press(COORDINATOR, shown, text="取消")
    [late] = await bot.press(COORDINATOR, shown, data=prv, strict=False)

    assert "已取消,活动 daguan-2017-anticounterfeit 未作改动。" in (cancelled.text or "")
    assert late.text == "这次修改已取消,未作改动。"
    assert await _campaign_rows(bot, CAMPAIGN) == before
    assert await _versions(bot) == 1


async def test_the_same_plan_file_again_is_unchanged_without_a_question(bot: Harness) -> None:
    replies = await bot.document(COORDINATOR, PLAN_TEXT.encode(), "daguan.toml")

    assert "第 1 版与该文件相同,未作改动" in (replies[0].text or "")
    assert all(r.buttons == [] for r in replies)
    async with bot.db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(m.PendingRevision)) == 0


async def test_a_revision_confirmed_after_another_was_applied_is_refused_as_stale(
    bot: Harness,
) -> None:
    older = await _send_revision(bot, REVISED)
    newer = await _send_revision(
        bot, _edit(PLAN_TEXT, 'name = "集贤路市场监管所"', 'name = "乙所"')
    )
    await bot.press(COORDINATOR, newer, text="确认修改")
    after_newer = await _campaign_rows(bot, CAMPAIGN)

    [refused] = await bot.press(COORDINATOR, older, text="确认修改")

    assert "在此期间已更新为第 2 版,这次修改未生效" in (refused.text or "")
    assert await _campaign_rows(bot, CAMPAIGN) == after_newer
    assert after_newer.unit_name("yulin") == "玉琳路市场监管所"
    assert after_newer.unit_name("jixian") == "乙所"


async def test_a_coordinator_of_another_campaign_can_neither_propose_nor_confirm(
    bot: Harness,
) -> None:
    own = await _paste_campaign(bot, COORDINATOR, STATISTICS_NOTICE, "甲所")
    await _coordinator_of(bot, SECOND_COORDINATOR, own)
    before = await _campaign_rows(bot, CAMPAIGN)

    [refused] = await bot.document(SECOND_COORDINATOR, REVISED.encode(), "daguan.toml")
    shown = await _send_revision(bot, REVISED)  # the campaign's own coordinator proposes
    forged = await bot.press(
        SECOND_COORDINATOR,
        bot.last(SECOND_COORDINATOR),
        data=shown.buttons[0]["callback_data"],
        strict=False,
    )

    assert refused.text == "活动“daguan-2017-anticounterfeit”已存在,且不是由您负责,不能修改。"
    assert forged[-1].text == refused.text
    assert await _campaign_rows(bot, CAMPAIGN) == before
