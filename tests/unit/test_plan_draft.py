"""`cuibao plan extract --toml-out` writes a draft plan that `plan check` accepts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document

from bot.cli import main
from conversation.notices import NoticeError, notice_text
from domain.plan_toml import parse_plan
from scheduler.deadlines import expand_plan

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "tests" / "data" / "seeds"
DAGUAN_NOTICE = SEEDS / "000_120f0acc1c4bbbb9.txt"
NOW = datetime(2016, 1, 1, tzinfo=UTC)


def _deadlines(plan_text: str) -> list[str]:
    plan = parse_plan(plan_text, "x.toml")
    return sorted(d.due.isoformat() for d in expand_plan(plan, NOW).deadlines)


def test_the_daguan_draft_yields_the_same_32_deadlines_as_the_hand_written_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = tmp_path / "draft.toml"

    assert main(["plan", "extract", str(DAGUAN_NOTICE), "--toml-out", str(draft)]) == 0
    assert main(["plan", "check", str(draft)]) == 0

    example = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
    got = _deadlines(draft.read_text(encoding="utf-8"))
    assert len(got) == 32
    assert got == _deadlines(example.read_text(encoding="utf-8"))


def test_each_drafted_obligation_carries_its_source_sentence_as_a_comment(tmp_path: Path) -> None:
    draft = tmp_path / "draft.toml"

    main(["plan", "extract", str(DAGUAN_NOTICE), "--toml-out", str(draft)])

    text = draft.read_text(encoding="utf-8")
    assert "# 原文:" in text
    assert "每周四下午15:00前报送相关报表" in text
    assert text.count("[[obligations]]") == 8


def test_a_notice_with_no_deadline_writes_no_draft(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = tmp_path / "draft.toml"

    code = main(
        [
            "plan",
            "extract",
            str(SEEDS / "002_9e06cbdb44fd6dbb.txt"),
            "--json",
            "--toml-out",
            str(draft),
        ]
    )

    assert code == 0
    assert not draft.exists()
    out = capsys.readouterr()
    assert json.loads(out.out)["obligations"] == []
    assert "未写出" in out.err


def test_a_docx_notice_is_read_paragraphs_and_tables_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = Document()
    document.add_paragraph("关于开展安全生产大检查的通知")
    document.add_paragraph("各乡镇:请于2024年3月15日前将自查报告报县应急管理局。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "报送时间"
    table.rows[0].cells[1].text = "每月25日前报送统计表"
    path = tmp_path / "notice.docx"
    document.save(str(path))

    assert main(["plan", "extract", str(path), "--json"]) == 0

    found = json.loads(capsys.readouterr().out)["obligations"]
    assert {o["kind"] for o in found} >= {"once"}
    assert any(o.get("date") == "2024-03-15" for o in found)


def test_a_gbk_text_notice_is_decoded() -> None:
    text = "各单位于12月15日前报送名单。"

    assert notice_text(text.encode("gb18030"), "n.txt") == text


@pytest.mark.parametrize(
    ("data", "name", "problem"),
    [
        (b"not a zip", "n.docx", "docx"),
        (b"\xd0\xcf\x11\xe0", "n.doc", "doc"),
    ],
)
def test_an_unreadable_notice_is_refused_with_a_reason(
    data: bytes, name: str, problem: str
) -> None:
    with pytest.raises(NoticeError) as caught:
        notice_text(data, name)

    assert str(caught.value) == problem


def test_a_missing_notice_file_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["plan", "extract", str(tmp_path / "nope.txt")])

    assert code == 1
    assert capsys.readouterr().err.count("\n") == 1
