"""The campaign day on DingTalk, through cuibao's real adapter over a real WebSocket and
HTTP to the fake DingTalk: units bind with a 绑定码, a form with a file, a 零报告, a missing
unit nudged, the status with its picture, a return and its correction — every command a
word, and every choice a button on an interactive card or, without a card template, a
numbered reply."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from fakedingtalk import Sent
from storage import models as m
from tests.dingtalk.harness import COORDINATOR, Harness, dingtalk_bot
from tests.e2e.test_campaign_day import _workbook

CAMPAIGN_DAY = datetime(2016, 12, 14, 2, 0, tzinfo=UTC)
A, B, C = "liming01", "zhanghua02", "chenjing05"
UNIT_A, UNIT_B, UNIT_C = "德宽路市场监管所", "玉琳路市场监管所", "集贤路市场监管所"
WEEKLY_3 = "信息周报第3期(12月15日 周四 15:00前)"
ANSWERS = ["12", "35", "3", "2", "1.5", "0.8", "2", "假冒白酒120瓶"]
CODE = re.compile(r"绑定 ([A-Za-z0-9_-]+)")


def spreadsheet() -> bytes:
    return _workbook(1)


async def bind(bot: Harness) -> None:
    [links, *_files] = await bot.say(COORDINATOR, "邀请")
    codes = {
        line[2:].split(":", 1)[0]: CODE.search(line)
        for line in links.text.splitlines()
        if line.startswith("· ")
    }
    for user, name, unit in [(A, "李明", UNIT_A), (B, "张华", UNIT_B), (C, "陈静", UNIT_C)]:
        bot.fake.add_user(user, name)
        found = codes[unit]
        assert found is not None
        bound, *_rest = await bot.say(user, found.group(0))
        assert bound.text == (
            f"绑定成功!您现在是“{unit}”在“2017年元旦春节期间打假专项行动”中的信息联络员。"
        )


async def open_weekly_3(bot: Harness, user: str) -> Sent:
    [menu] = await bot.say(user, "报送")
    [question] = await bot.choose(user, menu, "信息周报第3期")
    return question


@pytest.mark.parametrize("cards", [False, True], ids=["numbered replies", "card buttons"])
async def test_a_campaign_day_on_dingtalk(tmp_path: Path, cards: bool) -> None:
    async with dingtalk_bot(tmp_path, CAMPAIGN_DAY, cards=cards) as bot:
        await bind(bot)

        # A fills the weekly report by typing, sends its spreadsheet, confirms by number.
        question = await open_weekly_3(bot, A)
        assert "(1/8)请填写:出动执法人员(人次)" in question.text
        for answer in ANSWERS:
            *_, asked = await bot.say(A, answer)
        assert "请上传附件" in asked.text
        [files] = await bot.send_file(A, spreadsheet(), "周报.xlsx")
        assert "已上传:\n  · 周报.xlsx" in files.text
        [preview] = await bot.choose(A, files, "附件已传完")
        [done] = await bot.choose(A, preview, "确认提交")
        assert done.text == f"✅ 已提交:{WEEKLY_3}(第 1 版,附件 1 个)。谢谢!"
        assert (done.msg_key == "card") is cards  # the preview card became the receipt
        assert done.buttons == []

        # B has nothing to report: 零报告.
        question = await open_weekly_3(bot, B)
        [nil] = await bot.choose(B, question, "零报告")
        assert nil.text == f"✅ 已提交零报告:{WEEKLY_3}。谢谢!"

        # The coordinator's status: the text, then the picture as an image message.
        sent = await bot.say(COORDINATOR, "状态")
        assert f"3. {WEEKLY_3}\n   应报6 已报2(迟报0、零报告1) 退回0 未报4" in sent[0].text
        assert any(s.msg_key == "sampleImageMsg" for s in sent)
        [image] = [s for s in sent if s.msg_key == "sampleImageMsg"]
        assert bot.fake.media[image.param["photoURL"]][1].startswith(b"\x89PNG")

        # Past the deadline C is missing: nudged once, by a confirmed number.
        bot.clock.advance(hours=29.5)
        [confirm] = await bot.say(COORDINATOR, "催报")
        [reminded] = await bot.choose(COORDINATOR, confirm, "确认催报")
        assert reminded.text.startswith("已发送催报 1 条。")
        nudge = bot.last(C)
        assert nudge.text.startswith(f"【催报】{UNIT_C}:{WEEKLY_3} 尚未报送,请尽快填报。")
        assert (nudge.msg_key == "card") is cards
        [form] = await bot.choose(C, nudge, "立即填报")
        assert "(1/8)请填写:出动执法人员" in form.text
        if cards:  # the same button again: the same form at the same question, no other
            [again] = await bot.press(C, nudge, "立即填报")
            assert again.text == form.text

        # The coordinator returns A's report; A corrects it.
        [pick] = await bot.say(COORDINATOR, "退回")
        [ask] = await bot.choose(COORDINATOR, pick, f"退回:{UNIT_A}")
        assert ask.text == "请回复退回原因(将原文发给该单位联络员):"
        [returned] = await bot.say(COORDINATOR, "案值应为15万元")
        assert returned.text == f"已退回 {UNIT_A} 的 {WEEKLY_3},已通知 1 人。"
        notice = bot.last(A)
        [again] = await bot.choose(A, notice, "修改后重新提交")
        [_question] = await bot.choose(A, again, "修改:案值")
        [corrected] = await bot.say(A, "15")
        [late] = await bot.choose(A, corrected, "确认提交")
        assert late.text.startswith(f"✅ 已提交:{WEEKLY_3}(第 2 版")

        async with bot.db.sessions() as s:
            rows = (
                await s.execute(
                    select(
                        m.Submission.unit_id, m.Submission.revision, m.Submission.status
                    ).order_by(m.Submission.id)
                )
            ).all()
            people = (await s.scalars(select(m.Person.platform).distinct())).all()
        assert [tuple(r) for r in rows] == [
            (1, 1, "returned"),
            (2, 1, "submitted"),
            (1, 2, "submitted"),
        ]
        assert people == ["dingtalk"]


async def test_a_dropped_connection_and_redelivered_messages_are_each_handled_once(
    tmp_path: Path,
) -> None:
    async with dingtalk_bot(tmp_path, CAMPAIGN_DAY) as bot:
        await bind(bot)
        await open_weekly_3(bot, A)
        first = bot.bot.stream.connections
        ids = []
        for answer in ANSWERS[:4]:
            ids.append(await bot.fake.user_sends_text(A, answer))
        await bot.fake.disconnect()  # mid-burst, without notice
        await bot.fake.wait_until(lambda: bot.bot.stream.connections > first, 15.0)
        for message_id in ids[:2]:  # DingTalk delivers some again after the reconnect
            await bot.fake.redeliver(message_id)
        for answer in ANSWERS[4:]:
            ids.append(await bot.fake.user_sends_text(A, answer))
        await bot.handled(ids[-1])
        await bot.fake.ping()
        await bot.fake.wait_until(lambda: bot.fake.pongs >= 1)

        async with bot.db.sessions() as s:
            [draft] = (await s.scalars(select(m.Draft))).all()
            inbound = (await s.scalars(select(m.InboundMessage.message_id))).all()
        assert draft.state["answers"]["inspectors"] == 12
        assert len(draft.state["answers"]) == len(ANSWERS)  # each answer once, in order
        assert set(ids) <= set(inbound)
