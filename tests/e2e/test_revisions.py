"""A confirm names the revision its preview was built on: when the unit's liaison and
deputy both work on one report, the one who confirms later is told what the other
submitted and chooses, instead of silently putting the older numbers back."""

from __future__ import annotations

from fakegram import ChatMessage
from storage import models as m
from tests.e2e.harness import Harness
from tests.e2e.test_bad_input import LIAISON_LIST, STATS, UNIT_A, WEEKLY_3, A, bind
from tests.e2e.test_intake import FIGURES, XLSX
from tests.e2e.test_intake import _fill as fill_blank

DEPUTY = 2003
WHAT = LIAISON_LIST  # the deadline's label (the form has the same title)


async def liaison_list_preview(bot: Harness, user: int, answers: list[str | None]) -> ChatMessage:
    """The liaison list filled up to its preview (None: the optional 职务 skipped)."""
    [pick] = await bot.command(user, "submit")
    [question] = await bot.press(user, pick, text="信息联络员名单")
    for answer in answers:
        if answer is None:
            [question] = await bot.press(user, question, text="跳过")
        else:
            [question] = await bot.text(user, answer)
    return question


async def submissions(bot: Harness) -> list[tuple[int, int | None, bool, dict[str, object]]]:
    return [(x.revision, x.submitted_by, x.nil, x.answers) for x in await bot.rows(m.Submission)]


async def a_deputy_submits_after_the_liaison_s_preview(bot: Harness) -> ChatMessage:
    await bind(bot, (A, "李明", UNIT_A), (DEPUTY, "王芳", UNIT_A))
    preview = await liaison_list_preview(bot, A, ["李明", None, "0556-5542026"])
    deputy = await liaison_list_preview(bot, DEPUTY, ["王芳", "副所长", "0556-5541111"])
    [done] = await bot.press(DEPUTY, deputy, text="确认提交")
    assert done.text == f"✅ 已提交:{WHAT}(第 1 版)。谢谢!"
    return preview


async def test_a_deputy_s_newer_revision_refuses_a_stale_confirm_and_says_what_changed(
    bot: Harness,
) -> None:
    preview = await a_deputy_submits_after_the_liaison_s_preview(bot)
    what = WHAT
    before = await bot.snapshot()

    [refusal] = await bot.press(A, preview, text="确认提交")

    assert refusal.text == "\n".join(
        [
            (
                f"⚠ 未提交:{what} 已有更新的第 1 版(王芳 于 12月14日(周三) 10:00 提交),"
                "您这份内容是在它之前开始填写的,直接提交会覆盖它。"
            ),
            "与第 1 版不同的项:",
            "· 联络员姓名:第 1 版为 王芳,您填的是 李明",
            "· 职务:第 1 版为 副所长,您填的是 (未填)",
            "· 联系电话:第 1 版为 0556-5541111,您填的是 0556-5542026",
            "请选择:改用第 1 版的内容核对修改,或仍以您的内容提交为第 2 版。",
        ]
    )
    assert refusal.button_texts == ["改用第 1 版的内容核对", "仍以我的内容提交为第 2 版", "取消"]
    assert await bot.snapshot() == before
    assert [x[0] for x in await submissions(bot)] == [1]

    # Knowing what is there, the liaison submits theirs anyway: a new revision 2.
    [done] = await bot.press(A, refusal, text="仍以我的内容提交为第 2 版")
    assert done.text == f"✅ 已提交:{what}(第 2 版)。谢谢!"
    assert [(r, nil, a) for r, _, nil, a in await submissions(bot)] == [
        (1, False, {"name": "王芳", "title": "副所长", "phone": "0556-5541111"}),
        (2, False, {"name": "李明", "title": None, "phone": "0556-5542026"}),
    ]


async def test_a_liaison_can_take_the_newer_revision_and_confirm_it(bot: Harness) -> None:
    preview = await a_deputy_submits_after_the_liaison_s_preview(bot)
    [refusal] = await bot.press(A, preview, text="确认提交")

    [newer] = await bot.press(A, refusal, text="改用第 1 版的内容核对")

    assert newer.text == (
        f"{LIAISON_LIST}\n请核对后提交:\n· 联络员姓名:王芳\n· 职务:副所长\n"
        "· 联系电话:0556-5541111\n本次提交将作为第 2 版,之前的版本会保留。"
    )
    # The refusal's button again (a double tap) leaves the draft as it is now.
    await bot.press(A, refusal, text="改用第 1 版的内容核对")
    [draft] = await bot.rows(m.Draft)
    assert draft.state["answers"] == {"name": "王芳", "title": "副所长", "phone": "0556-5541111"}
    # The old preview's confirm is still refused; the new one goes through.
    [again] = await bot.press(A, preview, text="确认提交")
    assert (again.text or "").startswith("⚠ 未提交")
    await bot.press(A, newer, text="确认提交")
    assert [x[0] for x in await submissions(bot)] == [1, 2]


async def test_a_stale_nil_report_tap_is_refused_and_changes_nothing(bot: Harness) -> None:
    await bind(bot, (A, "李明", UNIT_A), (DEPUTY, "王芳", UNIT_A))
    [pick] = await bot.command(A, "submit")
    [question] = await bot.press(A, pick, text="信息周报第3期")
    [pick] = await bot.command(DEPUTY, "submit")
    [deputy] = await bot.press(DEPUTY, pick, text="信息周报第3期")
    await bot.press(DEPUTY, deputy, text="零报告")
    before = await bot.snapshot()

    [refusal] = await bot.press(A, question, text="零报告")

    assert refusal.text is not None and refusal.text.startswith(
        f"⚠ 未提交:{WEEKLY_3} 已有更新的第 1 版(王芳 于"
    )
    assert "第 1 版是零报告。" in refusal.text
    assert refusal.button_texts == ["改用第 1 版的内容核对", "仍提交零报告为第 2 版", "取消"]
    assert await bot.snapshot() == before
    [draft] = await bot.rows(m.Draft)
    assert draft.state["nil"] is False


async def test_a_workbook_read_before_a_deputy_s_revision_is_not_confirmed_over_it(
    bot: Harness,
) -> None:
    await bind(bot, (A, "李明", UNIT_A), (DEPUTY, "王芳", UNIT_A))
    [pick] = await bot.command(A, "submit")
    await bot.press(A, pick, text="信息周报第3期")
    [blank] = await bot.command(A, "blank")
    assert blank.document is not None
    [pick] = await bot.command(DEPUTY, "submit")
    [deputy] = await bot.press(DEPUTY, pick, text="信息周报第3期")
    await bot.press(DEPUTY, deputy, text="零报告")
    _, files = await bot.document(A, fill_blank(blank.document.data, FIGURES), "周报.xlsx", XLSX)
    [preview] = await bot.press(A, files, text="附件已传完")
    assert preview.text is not None and preview.text.startswith(STATS)
    assert "⚠ 您开始填写后,本单位已有人提交了第 1 版。" in preview.text
    before = await bot.snapshot()

    [refusal] = await bot.press(A, preview, text="确认提交")

    assert (refusal.text or "").startswith(f"⚠ 未提交:{WEEKLY_3} 已有更新的第 1 版")
    assert await bot.snapshot() == before
    assert [(r, nil) for r, _, nil, _ in await submissions(bot)] == [(1, True)]
