"""The campaign day on a second platform that lives in memory: invitations, a form with a
file, a 零报告, a missing unit, the status with its picture, a nudge, a return and its
correction, and the export — through the same core events as on Telegram, with no
Telegram anywhere."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from conversation.replies import Capabilities
from storage import models as m
from tests.core.memory import INVITE_PREFIX, MEMORY, PLAIN, MemoryPlatform, memory_platform
from tests.e2e.test_campaign_day import _workbook

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
CAMPAIGN_DAY = datetime(2016, 12, 14, 2, 0, tzinfo=UTC)
COORDINATOR, A_LIAISON, B_LIAISON, C_LIAISON = 900_001, 2001, 2002, 2005
UNIT_A, UNIT_B, UNIT_C = "德宽路市场监管所", "玉琳路市场监管所", "集贤路市场监管所"
WEEKLY_3 = "信息周报第3期(12月15日 周四 15:00前)"
ANSWERS = ["12", "35", "3", "2", "1.5", "0.8", "2", "假冒白酒120瓶"]
LINK = re.compile(rf"(?:{INVITE_PREFIX}|绑定 )([A-Za-z0-9_-]+)")


def spreadsheet() -> bytes:
    return _workbook(1)


async def invitations(platform: MemoryPlatform) -> dict[str, str]:
    messages = await platform.command(COORDINATOR, "invite")
    links: dict[str, str] = {}
    for line in messages[0].text.splitlines():
        found = LINK.search(line)
        if line.startswith("· ") and found:
            links[line[2:].split(":", 1)[0]] = found.group(0)
    return links


async def open_weekly_3(platform: MemoryPlatform, user: int) -> list:  # type: ignore[type-arg]
    [pick] = await platform.command(user, "submit")
    return await platform.press(user, pick, "信息周报第3期")


@pytest.mark.parametrize("capabilities", [MEMORY, PLAIN], ids=["buttons", "numbered"])
async def test_the_core_runs_a_campaign_day_without_telegram(
    tmp_path: Path, capabilities: Capabilities
) -> None:
    async with memory_platform(
        tmp_path, CAMPAIGN_DAY, DAGUAN, COORDINATOR, capabilities=capabilities
    ) as platform:
        # Two units bind themselves by their invitations; the menus follow the role.
        links = await invitations(platform)
        assert {UNIT_A, UNIT_B, UNIT_C} <= set(links)
        [bound, tasks, *menu] = await platform.join(A_LIAISON, "李明", links[UNIT_A])
        assert bound.text == (
            "绑定成功!您现在是“德宽路市场监管所”在“2017年元旦春节期间打假专项行动”中的信息联络员。"
        )
        await platform.join(B_LIAISON, "张华", links[UNIT_B])
        await platform.join(C_LIAISON, "陈静", links[UNIT_C])
        assert platform.chat(A_LIAISON).menu_coordinator is False
        if not capabilities.slash_commands and capabilities.buttons:
            [shown] = menu  # the menu is how commands are found
            assert shown.button_texts[0] == "填报"
        elif not capabilities.slash_commands:
            # A second numbered list would take the task list's numbers over: the task
            # list stays the one answered, and says where the menu is.
            assert menu == []
            assert "发送“帮助”可查看常用功能" in tasks.text and "1. 填报第1项" in tasks.text

        # A fills the weekly report, with a spreadsheet, and confirms.
        [question] = await open_weekly_3(platform, A_LIAISON)
        assert "(1/8)请填写:出动执法人员(人次)\n请输入整数,如 12。" in question.text
        for answer in ANSWERS:
            *_, question = await platform.text(A_LIAISON, answer)
        [files] = await platform.file(
            A_LIAISON,
            spreadsheet(),
            "周报.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        assert "已上传:\n  · 周报.xlsx" in files.text
        [preview] = await platform.press(A_LIAISON, files, "附件已传完")
        assert "· 📎 周报.xlsx" in preview.text
        [done] = await platform.press(A_LIAISON, preview, "确认提交")
        assert done.text == f"✅ 已提交:{WEEKLY_3}(第 1 版,附件 1 个)。谢谢!"
        if capabilities.can_edit:  # the preview became the acknowledgement
            assert done.id == preview.id and done.buttons == ()

        # B has nothing this week: one tap on 零报告.
        [question] = await open_weekly_3(platform, B_LIAISON)
        [nil] = await platform.press(B_LIAISON, question, "零报告")
        assert nil.text == f"✅ 已提交零报告:{WEEKLY_3}。谢谢!"

        # The coordinator looks: a text and a picture.
        status, picture = await platform.command(COORDINATOR, "status")
        assert f"3. {WEEKLY_3}\n   应报6 已报2(迟报0、零报告1) 退回0 未报4" in status.text
        assert picture.picture is not None and picture.picture.startswith(b"\x89PNG")

        # Past the deadline C is missing and is nudged, once.
        platform.clock.advance(hours=29.5)
        [missing] = await platform.command(COORDINATOR, "missing")
        assert f"· {UNIT_C}(逾期未报)" in missing.text
        [confirm] = await platform.command(COORDINATOR, "remind")
        [reminded] = await platform.press(COORDINATOR, confirm, "确认催报")
        assert reminded.text.startswith("已发送催报 1 条。")
        nudge = platform.last(C_LIAISON)
        assert nudge.text.startswith(f"【催报】{UNIT_C}:{WEEKLY_3} 尚未报送,请尽快填报。")
        [form] = await platform.press(C_LIAISON, nudge, "立即填报")
        assert "(1/8)请填写:出动执法人员" in form.text

        # The coordinator returns A's report; A corrects one figure and resubmits.
        [pick] = await platform.command(COORDINATOR, "review")
        [ask] = await platform.press(COORDINATOR, pick, f"退回:{UNIT_A}")
        assert ask.text == "请回复退回原因(将原文发给该单位联络员):"
        [returned] = await platform.text(COORDINATOR, "案值应为15万元")
        assert returned.text == f"已退回 {UNIT_A} 的 {WEEKLY_3},已通知 1 人。"
        notice = platform.last(A_LIAISON)
        assert notice.text.startswith(f"【退回】{WEEKLY_3} 被牵头单位退回。原因:案值应为15万元")
        [again] = await platform.press(A_LIAISON, notice, "修改后重新提交")
        [question] = await platform.press(A_LIAISON, again, "案值")
        [corrected] = await platform.text(A_LIAISON, "15")
        [late] = await platform.press(A_LIAISON, corrected, "确认提交")
        assert late.text.startswith(f"✅ 已提交:{WEEKLY_3}(第 2 版")

        # The export arrives as a document that opens as a workbook.
        *_, exported = await platform.command(COORDINATOR, "export")
        sent = [x for x in platform.chat(COORDINATOR).messages if x.document]
        assert sent, exported.text
        name, data = sent[-1].document or ("", b"")
        assert name.endswith(".xlsx")
        assert load_workbook(io.BytesIO(data), read_only=True).sheetnames

        # What the database holds: two revisions for A (the first returned), B's 零报告.
        services = platform.services
        assert services is not None
        async with services.reports.sessions() as s:
            rows = (
                await s.execute(
                    select(
                        m.Submission.unit_id,
                        m.Submission.revision,
                        m.Submission.status,
                        m.Submission.nil,
                    ).order_by(m.Submission.id)
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (1, 1, "returned", False),
            (2, 1, "submitted", True),
            (1, 2, "submitted", False),
        ]


def test_the_core_and_the_memory_platform_import_nothing_of_telegram() -> None:
    probe = "import sys, tests.core.memory; sys.exit('telegram' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=False).returncode == 0
