"""Coordinators manage people over real HTTP: who holds what (/units), unbinding and
replacing a liaison or deputy (/unit), revoking links (/revoke, and after /invite), the
invitation workbook and QR codes, a unit list (.xlsx 通讯录) added to a running campaign,
and a retired unit's link that binds nobody. Each action is confirmed, and a second tap
on a confirmation does nothing more."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot.cli import main
from fakegram import ChatMessage, FakeTelegram
from services.access import AccessService
from storage import models as m
from storage.database import Database
from tests.e2e.conftest import CAMPAIGN_DAY
from tests.e2e.harness import COORDINATOR, DAGUAN, ROOT, Harness, running_bot
from tests.e2e.test_bad_input import NOT_A_LIAISON, B, submitted_by_b
from tests.e2e.test_campaign_day import open_weekly_3

A_LIAISON, A_DEPUTY, B_LIAISON, NEWCOMER, STRANGER = 3001, 3002, 3003, 3004, 3005
UNIT_A, UNIT_B = "德宽路市场监管所", "玉琳路市场监管所"
CAMPAIGN = "2017年元旦春节期间打假专项行动"
CAMPAIGN_ID = "daguan-2017-anticounterfeit"
INVALID = "该邀请链接无效或已过期。请向牵头单位索取新的链接。"
STRANGER_REPLY = "您好!本机器人仅供受邀的联络员和牵头单位使用。如需使用,请向牵头单位索取邀请链接。"
ALREADY = "此操作已完成(或情况已变化),无需再点。发送 /units 查看当前情况。"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _card(bot: Harness, name: str) -> ChatMessage:
    [card] = await bot.command(COORDINATOR, "unit", name)
    return card


async def _confirm(
    bot: Harness, message: ChatMessage, button: str
) -> tuple[ChatMessage, str, list[ChatMessage]]:
    """Tap `button`, then 确认 on the question it asks: the question (edited into the
    result), the confirmation's callback data (to tap it again) and what else was sent."""
    [question] = await bot.press(COORDINATOR, message, text=button)
    data = question.callback_data("确认")
    replies = await bot.press(COORDINATOR, question, data=data)
    return question, data, [x for x in replies if x is not question]


async def _tap_again(bot: Harness, question: ChatMessage, data: str) -> str | None:
    """The same confirmation tapped once more (a double tap, or a stale client)."""
    replies = await bot.press(COORDINATOR, question, data=data, strict=False)
    return replies[-1].text


async def test_units_lists_each_units_people_their_last_activity_and_open_links(
    bot: Harness,
) -> None:
    links = await bot.invite_links()
    await bot.join(A_LIAISON, "李明", links[UNIT_A])
    bot.clock.advance(hours=1, minutes=30)
    await bot.join(A_DEPUTY, "王芳", links[UNIT_A])
    await open_weekly_3(bot, A_DEPUTY)  # a draft counts as activity
    bot.clock.advance(hours=1)

    [units] = await bot.command(COORDINATOR, "units")

    lines = (units.text or "").splitlines()
    assert lines[0] == f"“{CAMPAIGN}”各单位人员与邀请链接(共 6 个单位):"
    assert lines[1:5] == [
        f"· {UNIT_A}(市场监管所)",
        "  李明(信息联络员)最近活动 12月14日(周三) 10:00",
        "  王芳(副联络员)最近活动 12月14日(周三) 11:30",
        f"· {UNIT_B}(市场监管所):未绑定",
    ]
    # A's link is used by both its people: it binds nobody more, so it is not listed.
    assert lines[5] == "  未用邀请链接 1 个,有效至 12月28日(周三) 10:00"
    assert lines[-1].startswith("管理某单位的人员和链接:发送 /unit 单位名称")


async def test_units_of_a_large_campaign_come_in_messages_telegram_accepts(tmp_path: Path) -> None:
    text = DAGUAN.read_text(encoding="utf-8")
    start, end = text.index("[[units]]"), text.index("# ---- forms")
    units = "".join(
        f'[[units]]\nid = "u{i:03d}"\nname = "第{i:03d}个乡镇街道市场监督管理所"\n'
        f'group = "市场监管所"\n\n'
        for i in range(1, 301)
    )
    plan = tmp_path / "large.toml"
    plan.write_text(text[:start] + units + text[end:], encoding="utf-8")

    async with running_bot(tmp_path, CAMPAIGN_DAY, plan=plan) as bot:
        invited = await bot.command(COORDINATOR, "invite")
        messages = await bot.command(COORDINATOR, "units")

    # Three hundred QR codes are left to the command line; the workbook still comes.
    assert [x.document.file_name for x in invited if x.document] == [
        "daguan-2017-anticounterfeit-邀请链接.xlsx"
    ]
    assert (invited[-1].text or "").startswith("本次共 300 个链接,二维码较多,未在聊天中生成。")
    assert len(messages) > 1
    assert all(len((x.text or "").encode("utf-16-le")) // 2 <= 4096 for x in messages)
    listed = "\n".join(x.text or "" for x in messages)
    assert listed.count("未用邀请链接 1 个") == 300


async def test_an_unbound_liaison_is_told_loses_access_at_once_and_keeps_their_submission(
    bot: Harness,
) -> None:
    links = await bot.invite_links()
    await bot.join(A_LIAISON, "李明", links[UNIT_A])
    await bot.join(A_DEPUTY, "王芳", links[UNIT_A])
    question = await open_weekly_3(bot, A_LIAISON)
    await bot.press(A_LIAISON, question, text="零报告")
    [liaison] = await bot.rows(m.Person, m.Person.external_id == str(A_LIAISON))

    card = await _card(bot, "德宽")
    assert card.button_texts == [
        "解绑 李明",
        "更换 李明",
        "解绑 王芳",
        "更换 王芳",
        "生成新链接",
        "📋 报送记录",
    ]
    [ask] = await bot.press(COORDINATOR, card, text="解绑 李明")
    assert ask.text == (
        f"确认解绑“{UNIT_A}”的信息联络员李明?解绑后对方立即失去报送权限,"
        "已报送的材料仍保留并记在其名下;本单位尚未使用的邀请链接同时作废。"
    )
    data = ask.callback_data("确认")
    [done] = await bot.press(COORDINATOR, ask, data=data)
    assert done.text == (
        f"已解绑“{UNIT_A}”的 李明,已通知本人;作废本单位邀请链接 1 个。"
        "需要新人接替时,发送 /unit 单位名称 生成新链接。"
    )
    assert bot.last(A_LIAISON).text == (
        f"您已不再是“{CAMPAIGN}”中“{UNIT_A}”的信息联络员,"
        "不能再通过本机器人报送。您此前报送的材料仍保留。"
        "如有疑问请联系牵头单位。"
    )
    [refused] = await bot.command(A_LIAISON, "tasks")
    assert refused.text == STRANGER_REPLY
    [submission] = await bot.rows(m.Submission)
    assert (submission.submitted_by, submission.nil) == (liaison.id, True)
    assert [
        (x.person_id, x.role) for x in await bot.rows(m.Membership) if x.unit_id is not None
    ] == [(liaison.id + 1, "deputy")]
    # The removed liaison cannot come back through the link they used.
    [again] = await bot.start(A_LIAISON, links[UNIT_A])
    assert again.text == INVALID

    before = await bot.snapshot()
    assert await _tap_again(bot, ask, data) == ALREADY
    assert await bot.snapshot() == before


async def test_replacing_a_deputy_gives_one_new_link_and_the_old_one_binds_nobody(
    bot: Harness,
) -> None:
    links = await bot.invite_links()
    await bot.join(A_LIAISON, "李明", links[UNIT_A])
    await bot.join(A_DEPUTY, "王芳", links[UNIT_A])

    done, data, [qr] = await _confirm(bot, await _card(bot, "德宽路市场监管所"), "更换 王芳")

    assert (done.text or "").startswith(
        f"已解绑“{UNIT_A}”的 王芳,已通知本人。\n新链接(14 天内有效,请转发给接替的人):https://t.me/"
    )
    assert qr.document is not None and qr.document_bytes is not None
    assert qr.document_bytes.startswith(b"\x89PNG\r\n\x1a\n")
    new_token = (done.text or "").rsplit("start=", 1)[1]
    [old] = await bot.join(STRANGER, "路人", links[UNIT_A])
    assert old.text == INVALID
    [bound, _] = await bot.join(NEWCOMER, "赵强", new_token)
    assert bound.text == f"绑定成功!您现在是“{UNIT_A}”在“{CAMPAIGN}”中的副联络员。"

    invites = len(await bot.rows(m.Invite))
    assert await _tap_again(bot, done, data) == ALREADY
    assert len(await bot.rows(m.Invite)) == invites


async def test_a_unit_whose_liaison_left_gets_a_liaison_again_not_a_second_deputy(
    bot: Harness,
) -> None:
    links = await bot.invite_links()
    await bot.join(A_LIAISON, "李明", links[UNIT_A])
    await bot.join(A_DEPUTY, "王芳", links[UNIT_A])
    await _confirm(bot, await _card(bot, "德宽"), "解绑 李明")

    [ask] = await bot.press(COORDINATOR, await _card(bot, "德宽"), text="生成新链接")
    assert ask.text == f"确认为“{UNIT_A}”生成新的邀请链接?本单位未使用的 0 个旧链接将同时作废。"
    data = ask.callback_data("确认")
    [_qr] = await bot.press(COORDINATOR, ask, data=data)
    [bound, _] = await bot.join(NEWCOMER, "赵强", (ask.text or "").rsplit("start=", 1)[1])

    assert bound.text == f"绑定成功!您现在是“{UNIT_A}”在“{CAMPAIGN}”中的信息联络员。"
    invites = len(await bot.rows(m.Invite))
    assert await _tap_again(bot, ask, data) == ALREADY
    assert len(await bot.rows(m.Invite)) == invites


async def test_revoke_asks_first_spares_links_made_since_and_a_second_tap_does_nothing(
    bot: Harness,
) -> None:
    old = await bot.invite_links()
    [ask] = await bot.command(COORDINATOR, "revoke")
    assert ask.text == (
        f"确认撤销“{CAMPAIGN}”全部 6 个未用邀请链接?"
        "撤销后这些链接不能再绑定任何人,已绑定的人员不受影响。"
    )
    newer = await bot.invite_links()  # made after the question: the answer must spare them

    data = ask.callback_data("确认")
    [done] = await bot.press(COORDINATOR, ask, data=data)
    assert done.text == "已撤销 6 个邀请链接。"
    assert await _tap_again(bot, ask, data) == ALREADY

    [refused] = await bot.join(A_LIAISON, "李明", old[UNIT_A])
    assert refused.text == INVALID
    [bound, _] = await bot.join(B_LIAISON, "张华", newer[UNIT_B])
    assert bound.text == f"绑定成功!您现在是“{UNIT_B}”在“{CAMPAIGN}”中的信息联络员。"


async def test_invite_sends_a_workbook_and_qr_codes_and_offers_to_revoke_older_links(
    bot: Harness,
) -> None:
    old = await bot.invite_links()
    messages = await bot.command(COORDINATOR, "invite")

    texts = [x for x in messages if x.document is None]
    book, codes = [x for x in messages if x.document is not None]
    assert texts[-1].text == (
        "此前生成的 6 个邀请链接仍然有效。如只想让上面的新链接生效,请撤销旧链接:"
    )
    assert book.document is not None and book.document.file_name == (
        "daguan-2017-anticounterfeit-邀请链接.xlsx"
    )
    assert book.caption == "各单位邀请链接表:每行末尾的“通知”可直接复制转发。"
    sheet = load_workbook(io.BytesIO(book.document_bytes or b"")).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("单位", "分组", "绑定角色", "邀请链接", "有效期至", "通知")
    unit, group, role, link, expires, notice = rows[1]
    assert (unit, group, role, expires) == (
        UNIT_A,
        "市场监管所",
        "信息联络员、副联络员",
        "12月28日(周三) 10:00",
    )
    assert notice == (
        f"请{UNIT_A}信息联络员、副联络员于12月28日(周三) 10:00前在 Telegram 中"
        f"打开以下链接,绑定“{CAMPAIGN}”报送账号:{link}"
    )
    assert len(rows) == 7
    with zipfile.ZipFile(io.BytesIO(codes.document_bytes or b"")) as archive:
        names = archive.namelist()
        assert names[0] == f"001-{UNIT_A}.png"
        assert len(names) == 6
        assert all(archive.read(n).startswith(b"\x89PNG") for n in names)

    [done] = await bot.press(COORDINATOR, texts[-1], text="确认")

    assert done.text == "已撤销 6 个邀请链接。"
    [refused] = await bot.join(A_LIAISON, "李明", old[UNIT_A])
    assert refused.text == INVALID
    [bound, _] = await bot.join(B_LIAISON, "张华", str(link).rsplit("start=", 1)[1])
    assert bound.text == f"绑定成功!您现在是“{UNIT_A}”在“{CAMPAIGN}”中的信息联络员。"


async def test_liaisons_cannot_use_the_people_commands_or_forge_their_buttons(
    bot: Harness,
) -> None:
    links = await bot.invite_links()
    await bot.join(A_LIAISON, "李明", links[UNIT_A])
    [b_liaison, _] = await bot.join(B_LIAISON, "张华", links[UNIT_B])
    before = await bot.snapshot()
    [membership] = [x for x in await bot.rows(m.Membership) if x.unit_id == 1]

    [refused] = await bot.command(B_LIAISON, "unit", "德宽")
    forged = await bot.press(
        B_LIAISON, b_liaison, data=f"pubok:{membership.id}:{membership.person_id}", strict=False
    )

    assert refused.text == "此功能仅供牵头单位使用。"
    assert forged[-1].text == "此功能仅供牵头单位使用。"
    assert await bot.snapshot() == before


async def test_an_unused_link_of_a_unit_retired_by_a_plan_revision_binds_nobody(
    bot: Harness, tmp_path: Path
) -> None:
    links = await bot.invite_links()
    text = DAGUAN.read_text(encoding="utf-8")
    start = text.index('[[units]]\nid = "haikou"')
    end = text.index("[[units]]", start + 1) if "[[units]]" in text[start + 1 :] else None
    revised = text[:start] + (text[end:] if end else text[text.index("\n\n", start) + 2 :])
    assert "海口市场监管所" not in revised
    plan = tmp_path / "revised.toml"
    plan.write_text(revised, encoding="utf-8")
    await bot.load(plan)

    [refused] = await bot.join(STRANGER, "路人", links["海口市场监管所"])

    assert refused.text == INVALID
    assert [x for x in await bot.rows(m.Membership) if x.unit_id is not None] == []


def _unit_list(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["大观区市场监管局通讯录"])
    sheet.append([" 分 组", "单位名称 ", "联系人", "手机"])  # another order, stray spaces
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_unit_list_adds_only_new_units_to_the_campaign_after_confirmation(
    bot: Harness,
) -> None:
    data = _unit_list(
        [
            ["市场监管所", UNIT_A, "李明", "13812345678"],
            ["股室", "综合科", "周敏", "139 1234 5678"],
            [None, None, None, None],
            ["股室", "执法稽查科", None, None],
        ]
    )

    [preview] = await bot.document(COORDINATOR, data, "通讯录.xlsx", XLSX)

    assert preview.text == (
        f"通讯录将向“{CAMPAIGN}”新增 2 个单位(已有 1 个不变):\n"
        "+ 综合科(股室)\n+ 执法稽查科(股室)\n"
        "活动中另有 5 个单位不在通讯录中,保留不动。"
    )
    confirm = preview.callback_data("确认")
    [done] = await bot.press(COORDINATOR, preview, data=confirm)
    assert done.text == "已新增 2 个单位(方案第 2 版)。发送 /invite 生成它们的邀请链接。"
    units = [(u.name, u.group, u.active) for u in await bot.rows(m.Unit)]
    assert units[-2:] == [("综合科", "股室", True), ("执法稽查科", "股室", True)]
    assert all(active for _, _, active in units) and len(units) == 8

    assert await _tap_again(bot, preview, confirm) == ALREADY
    assert len(await bot.rows(m.Unit)) == 8
    assert len(await bot.rows(m.PlanVersion)) == 2


async def test_a_bad_unit_list_is_refused_naming_its_row_and_column(bot: Harness) -> None:
    data = _unit_list(
        [["股室", "综合科", "周敏", "13912345678"], ["股室", "执法稽查科", "孙亮", "0551-1234"]]
    )

    [refused] = await bot.document(COORDINATOR, data, "通讯录.xlsx", XLSX)

    assert refused.text == (
        "通讯录 通讯录.xlsx 未导入:第 4 行 D 列:“0551-1234”不是手机号"
        "(应为 11 位数字,如 13812345678)"
    )
    assert len(await bot.rows(m.Unit)) == 6
    assert len(await bot.rows(m.PlanVersion)) == 1


async def test_people_unbind_on_the_command_line_tells_the_person_through_the_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeTelegram() as fake:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
        config = tmp_path / "config.toml"
        config.write_text(
            f'[bot]\napi_base_url = "{fake.base_url}"\n\n[database]\n'
            'url = "sqlite:///cuibao.sqlite3"\n',
            encoding="utf-8",
        )
        fake.add_user(A_LIAISON, "李明")
        # The CLI runs its own event loop: give it a thread while this one serves the fake.
        assert (
            await asyncio.to_thread(main, ["plan", "load", str(DAGUAN), "--config", str(config)])
            == 0
        )
        async with Database.open(f"sqlite:///{tmp_path / 'cuibao.sqlite3'}") as db:
            access = AccessService(db.sessions)
            [link] = await access.create_invites(CAMPAIGN_ID, CAMPAIGN_DAY, 14, ["dekuan"])
            actor = await access.identify(str(A_LIAISON), "李明", None, CAMPAIGN_DAY)
            await access.redeem(link.token, actor, CAMPAIGN_DAY)
        capsys.readouterr()

        code = await asyncio.to_thread(
            main,
            [
                "people",
                "unbind",
                "--config",
                str(config),
                "--campaign",
                CAMPAIGN_ID,
                "--unit",
                "dekuan",
                "--yes",
            ],
        )

        out, err = capsys.readouterr()
        assert (code, err) == (0, "")
        assert out.splitlines()[-1] == "已通过机器人通知本人。"
        [notice] = fake.sent(A_LIAISON)
        assert notice.text == (
            f"您已不再是“{CAMPAIGN}”中“{UNIT_A}”的信息联络员,"
            "不能再通过本机器人报送。您此前报送的材料仍保留。"
            "如有疑问请联系牵头单位。"
        )


async def test_a_unit_list_sent_while_a_new_campaign_waits_for_its_units_becomes_them(
    bot: Harness,
) -> None:
    notice = ROOT / "tests" / "data" / "seeds" / "000_120f0acc1c4bbbb9.txt"
    [_, found] = await bot.document(COORDINATOR, notice.read_bytes(), "notice.txt", "text/plain")
    await bot.press(COORDINATOR, found, text="无误,下一步")

    created = await bot.document(
        COORDINATOR,
        _unit_list([["股室", "综合科", None, None], ["股室", "执法稽查科", None, None]]),
        "通讯录.xlsx",
        XLSX,
    )

    assert re.match(r"已载入 \S+ 第 1 版", created[0].text or "")  # a new campaign
    assert [u.name for u in await bot.rows(m.Unit, m.Unit.campaign_id != 1)] == [
        "综合科",
        "执法稽查科",
    ]


@pytest.mark.parametrize("command", ["units", "unit", "revoke", "invite"])
async def test_a_people_command_abandons_a_pending_return_like_any_other_command(
    bot: Harness, command: str
) -> None:
    await submitted_by_b(bot)
    await bot.command(COORDINATOR, command)
    before, notices = await bot.snapshot(), len(bot.fake.sent(B))

    [reply] = await bot.text(COORDINATOR, "好的,稍后再说")

    assert reply.text == NOT_A_LIAISON
    assert await bot.snapshot() == before
    assert len(bot.fake.sent(B)) == notices
