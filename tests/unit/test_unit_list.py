"""Reading a unit list (.xlsx 通讯录) strictly, and adding its units to a plan's text."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from domain.extract import extract_obligations
from domain.plan import Contact
from domain.plan_draft import DraftOptions, draft_plan
from domain.plan_toml import parse_plan
from domain.unit_list import ListedUnit, add_units_to_plan_text, merge_unit_list
from storage.unit_list import UnitListError, read_unit_list

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = (ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml").read_text(
    encoding="utf-8"
)


def _book(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_headers_are_found_below_a_title_in_any_order_with_spaces_ignored() -> None:
    data = _book(
        ["某某区通讯录"],
        [],
        ["手 机", "联系人", "分组 ", "\u3000单位名称"],
        [13812345678, "李明", "市场监管所", " 德宽路市场监管所 "],
        [None, None, None, None],
        ["138-1234-5679", None, "", "综合科"],
    )

    assert read_unit_list(data) == [
        ListedUnit("德宽路市场监管所", "市场监管所", "李明", "13812345678", 4),
        ListedUnit("综合科", "", "", "13812345679", 6),
    ]


@pytest.mark.parametrize(
    ("rows", "code", "row", "column"),
    [
        ([["单位名称", "分组"], ["", "股室"]], "empty_name", 2, "A"),
        ([["单位名称", "分组"], ["甲", "股室"], ["甲", "股室"]], "duplicate", 3, "A"),
        ([["分组", "单位名称", "手机"], ["股室", "甲", "12345"]], "bad_phone", 2, "C"),
        ([["单位名称", "分组"], ["甲", "组" * 101]], "too_long", 2, "B"),
        ([["单位名称", "联系人"], ["甲", "李明"]], "missing_column", 1, ""),
        ([["单位名称", "分组"]], "no_units", 1, ""),
        ([["名称", "分组"], ["甲", "股室"]], "no_header", 0, ""),
    ],
)
def test_a_bad_list_is_refused_naming_the_row_and_column(
    rows: list[list[object]], code: str, row: int, column: str
) -> None:
    with pytest.raises(UnitListError) as caught:
        read_unit_list(_book(*rows))

    assert (caught.value.code, caught.value.row, caught.value.column) == (code, row, column)


def test_a_file_that_is_not_a_workbook_is_refused_as_such() -> None:
    with pytest.raises(UnitListError) as caught:
        read_unit_list(b"PK\x03\x04 not really a zip")

    assert caught.value.code == "not_xlsx"
    with pytest.raises(UnitListError) as old:
        read_unit_list(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    assert old.value.code == "ole"


def test_new_units_are_appended_to_the_plan_text_and_known_ones_left_alone() -> None:
    plan = parse_plan(DAGUAN, "daguan.toml")
    listed = [
        ListedUnit("德宽路市场监管所", "股室"),
        ListedUnit("综合科", "股室", "周敏", "13912345678"),
        ListedUnit("法规科", "股室", "孙丽", "0556-5542026"),  # a 座机: no binding by it
    ]

    merge = merge_unit_list(plan, listed)
    text = add_units_to_plan_text(DAGUAN, merge.added)

    assert [(u.id, u.name) for u in merge.added] == [("u001", "综合科"), ("u002", "法规科")]
    assert merge.regrouped == ("德宽路市场监管所",)
    assert len(merge.not_listed) == 5
    assert text.startswith(DAGUAN.rstrip("\n"))
    # A mobile number names the unit's liaison (DingTalk offers them the binding); a
    # 座机 stays a comment.
    assert (
        '[[units]]\nid = "u001"\nname = "综合科"\ngroup = "股室"\n'
        'liaison = { name = "周敏", mobile = "13912345678" }\n'
    ) in text
    assert '[[units]]\n# 孙丽 0556-5542026\nid = "u002"\nname = "法规科"\n' in text
    *_, zonghe, fagui = parse_plan(text, "daguan.toml").units
    assert zonghe.contacts == (Contact("liaison", "周敏", "", "13912345678"),)
    assert fagui.contacts == ()


def test_a_drafts_placeholder_unit_is_replaced_by_the_list() -> None:
    notice = ROOT / "tests" / "data" / "notices" / "commerce_district_consumption.txt"
    extraction = extract_obligations(notice.read_text(encoding="utf-8"))
    draft = draft_plan(extraction, DraftOptions(campaign_id="x", name="x", today=date(2017, 1, 3)))
    plan = parse_plan(draft, "x.toml")
    merge = merge_unit_list(plan, [ListedUnit("综合科", "股室")])

    text = add_units_to_plan_text(draft, merge.added, merge.placeholder)

    assert [u.name for u in parse_plan(text, "x.toml").units] == ["综合科"]
