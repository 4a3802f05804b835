"""The template mapping file: what it accepts and how it says no."""

from __future__ import annotations

import pytest

from domain.export_template import TemplateSheet, parse_template
from domain.plan_toml import PlanError

GOOD = """
file = "t.xlsx"
[[sheets]]
obligation = "weekly-report"
first_row = 5
columns = { unit = "a", cases = "AB" }
cells = { period = "b2" }
"""


def test_a_mapping_reads_into_sheets_with_upper_case_references() -> None:
    template = parse_template(GOOD, "m.toml")

    assert template.file == "t.xlsx"
    assert template.sheets == (
        TemplateSheet(
            "weekly-report", 5, {"unit": "A", "cases": "AB"}, None, {"period": "B2"}, False
        ),
    )


@pytest.mark.parametrize(
    ("old", "new", "code", "where"),
    [
        (
            'columns = { unit = "a", cases = "AB" }',
            'columns = { unit = "5B" }',
            "bad_cell",
            "sheets[0].columns.unit",
        ),
        (
            'columns = { unit = "a", cases = "AB" }',
            'columns = { unit = "ZZZZ" }',
            "bad_cell",
            "sheets[0].columns.unit",
        ),
        (
            'cells = { period = "b2" }',
            'cells = { period = "B" }',
            "bad_cell",
            "sheets[0].cells.period",
        ),
        (
            'cells = { period = "b2" }',
            'cells = { colour = "B2" }',
            "bad_choice",
            "sheets[0].cells.colour",
        ),
        ("first_row = 5", "first_row = 0", "out_of_range", "sheets[0].first_row"),
        ("first_row = 5", 'first_row = "5"', "wrong_type", "sheets[0].first_row"),
        (
            "first_row = 5\n",
            "first_row = 5\nfirst_column = 1\n",
            "unknown_key",
            "sheets[0].first_column",
        ),
        ('file = "t.xlsx"', "", "missing_key", "file"),
        ("first_row = 5", "first_row = 5\ntotals = 1", "wrong_type", "sheets[0].totals"),
    ],
)
def test_a_bad_mapping_is_refused_with_its_key_path(
    old: str, new: str, code: str, where: str
) -> None:
    with pytest.raises(PlanError) as refused:
        parse_template(GOOD.replace(old, new), "m.toml")

    assert (refused.value.code, refused.value.where, refused.value.source) == (
        code,
        where,
        "m.toml",
    )


def test_a_mapping_with_no_sheets_or_broken_toml_is_refused() -> None:
    with pytest.raises(PlanError) as empty:
        parse_template('file = "t.xlsx"\nsheets = []', "m.toml")
    with pytest.raises(PlanError) as broken:
        parse_template("file = ", "m.toml")

    assert empty.value.code == "wrong_type"
    assert broken.value.code == "toml_syntax"
