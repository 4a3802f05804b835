"""The package's public surface: JSON schema, text rendering, CLI and purity."""

import ast
import json
import subprocess
import sys
from pathlib import Path

from domain.extract import extract_obligations, render_text

PACKAGE = Path(__file__).resolve().parents[3] / "domain" / "extract"
FORBIDDEN = {
    "telegram", "sqlalchemy", "openpyxl", "bot", "handlers", "scheduler", "storage", "services",
}  # fmt: skip
SCHEMA_KEYS = {
    "what", "kind", "date", "month_day", "weekday", "day_of_month", "months", "time", "window",
    "offset", "from", "to", "quote", "year_inferred", "anchor", "period",
}  # fmt: skip
NOTICE = (
    "各所:\n每月月底前将上月26日至本月25日统计表报送县局。\n"
    "请于12月15日前报送名单。\n发布时间:2016-12-15\n"
)


def test_the_json_has_exactly_the_annotation_schema() -> None:
    data = extract_obligations(NOTICE).to_json()
    assert set(data) == {"doc_date", "obligations"}
    assert data["doc_date"] == "2016-12-15"
    assert all(set(o) == SCHEMA_KEYS for o in data["obligations"])
    assert data["obligations"][0]["period"] == {"from": "prev-26", "to": "cur-25"}
    assert data["obligations"][1]["date"] == "2016-12-15"


def test_the_last_working_day_keeps_day_minus_one_and_says_it_is_the_last_working_day() -> None:
    notice = "各所:\n每月最后1个工作日前报送本月统计表;每月月底前报送台账。\n发布时间:2016-12-15\n"
    working, month_end = extract_obligations(notice).to_json()["obligations"]
    assert working["day_of_month"] == month_end["day_of_month"] == -1
    assert set(working) == SCHEMA_KEYS | {"rule"}
    assert working["rule"] == "last_workday"
    assert set(month_end) == SCHEMA_KEYS


def test_the_json_round_trips_through_the_json_module() -> None:
    data = extract_obligations(NOTICE).to_json()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_the_text_rendering_numbers_each_obligation_with_its_quote() -> None:
    text = render_text(extract_obligations(NOTICE))
    assert "1. monthly last day" in text
    assert "2. by 2016-12-15" in text
    assert "“请于12月15日前报送名单”" in text


def test_the_command_line_prints_json(tmp_path: Path) -> None:
    notice = tmp_path / "notice.txt"
    notice.write_text(NOTICE, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "domain.extract", str(notice), "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parents[1],
    )
    assert len(json.loads(out.stdout)["obligations"]) == 2


def test_the_extractor_imports_nothing_from_the_outer_layers() -> None:
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{module.name} imports {name}"


def test_extraction_is_deterministic() -> None:
    assert extract_obligations(NOTICE) == extract_obligations(NOTICE)


def test_empty_text_has_nothing() -> None:
    extraction = extract_obligations("")
    assert extraction.doc_date is None and extraction.obligations == ()
