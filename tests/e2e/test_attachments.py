"""A wrong attachment is removed from a draft on its own, after a confirmation; the rest of
the draft (answers, other files) stays, and a second tap changes nothing."""

from __future__ import annotations

from storage import models as m
from tests.e2e.harness import Harness
from tests.e2e.test_bad_input import STATS, A, liaison_at

RIGHT = b"%PDF-1.4\n1 0 obj <<>> endobj\n% the right report\ntrailer <<>>\n%%EOF\n"
WRONG = b"%PDF-1.4\n1 0 obj <<>> endobj\n% a private letter\ntrailer <<>>\n%%EOF\n"


async def test_a_wrong_attachment_is_removed_and_everything_else_is_kept(bot: Harness) -> None:
    await liaison_at(bot, 9)
    await bot.document(A, RIGHT, "周报.pdf", "application/pdf")
    [files] = await bot.document(A, WRONG, "私人信件.pdf", "application/pdf")
    assert files.button_texts == [
        "附件已传完",
        "🗑 删除附件:周报.pdf",
        "🗑 删除附件:私人信件.pdf",
        "取消",
    ]
    right, wrong = await bot.rows(m.Attachment)
    before = await bot.snapshot()

    [ask] = await bot.press(A, files, text="🗑 删除附件:私人信件.pdf")
    assert ask.text == "确定从本次填报中删除附件“私人信件.pdf”吗?其他内容和附件不受影响。"
    assert await bot.snapshot() == before  # asking changes nothing
    [prompt] = await bot.press(A, ask, text="确认删除")

    assert ask.text == "已删除附件“私人信件.pdf”。" and ask.buttons == []  # edited in place
    assert prompt.text is not None and prompt.text.startswith(f"{STATS}\n请上传附件")
    assert "周报.pdf" in prompt.text and "私人信件.pdf" not in prompt.text
    after = await bot.snapshot()
    assert after.drafts == before.drafts  # every answer as it was
    assert after.attachments == [x for x in before.attachments if x[0] == right.id]
    assert after.files == [f for f in before.files if not f.endswith(wrong.storage_key)]
    assert len(after.files) == 1

    # The confirmation tapped again (a double tap): nothing more is removed, no error.
    [again] = await bot.press(A, ask, data=f"delok:{right.draft_id}:{wrong.id}", strict=False)
    assert again.text == "这个附件已经删除了。"
    assert await bot.snapshot() == after

    [preview] = await bot.press(A, prompt, text="附件已传完")
    assert "· 📎 周报.pdf" in (preview.text or "")
    assert "🗑 删除附件:周报.pdf" in preview.button_texts
    [done] = await bot.press(A, preview, text="确认提交")
    assert (done.text or "").endswith("(第 1 版,附件 1 个)。谢谢!")
    [kept] = await bot.rows(m.Attachment)
    assert (kept.id, kept.draft_id, kept.sha256) == (right.id, None, right.sha256)


async def test_keeping_the_file_changes_nothing(bot: Harness) -> None:
    await liaison_at(bot, 9)
    [files] = await bot.document(A, RIGHT, "周报.pdf", "application/pdf")
    before = await bot.snapshot()

    [ask] = await bot.press(A, files, text="🗑 删除附件:周报.pdf")
    [back] = await bot.press(A, ask, text="保留,返回填报")

    assert back.text == files.text
    assert await bot.snapshot() == before
