"""Years without holiday data: a config or a plan can declare a year complete (its
holidays and 调休 days all listed), which silences the warning; `cuibao calendar` shows
which years have data and which overrides are in force."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.cli import main
from domain.plan import CalendarOverrides
from domain.plan_toml import parse_plan
from scheduler.calendar import WorkdayCalendar, package_years

ROOT = Path(__file__).resolve().parents[2]
# Qingxi's plan moved to 2027: "5 working days after issue" needs 2027's calendar.
QINGXI_2027 = (
    (ROOT / "examples" / "plans" / "qingxi-2018-anticounterfeit.toml")
    .read_text(encoding="utf-8")
    .replace("2018", "2027")
)
OVERRIDES_2027 = "holidays = [2027-04-05]\nworkdays = []\n"
MISSING_2027 = "日历数据中没有 2027 年的法定节假日安排"


@pytest.fixture(autouse=True)
def _in_a_fresh_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CUIBAO_CONFIG", raising=False)


def _out(*argv: str) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(list(argv)) == 0
    return buffer.getvalue()


def _warnings(tmp_path: Path, plan_text: str) -> list[str]:
    plan = tmp_path / "plan.toml"
    plan.write_text(plan_text, encoding="utf-8")
    checked = json.loads(_out("plan", "check", str(plan), "--json", "--now", "2027-06-01T00:00"))
    return [w for w in checked["warnings"] if w.startswith(MISSING_2027)]


def test_the_holiday_package_stops_before_2027() -> None:
    # If this fails, a newer chinesecalendar knows 2027: drop the 2027 cases below.
    assert package_years()[1] < 2027


def test_overrides_alone_keep_the_warning_and_a_year_declared_complete_silences_it(
    tmp_path: Path,
) -> None:
    assert _warnings(tmp_path, QINGXI_2027) != []
    (tmp_path / "config.toml").write_text(f"[calendar]\n{OVERRIDES_2027}", encoding="utf-8")
    assert _warnings(tmp_path, QINGXI_2027) != []

    (tmp_path / "config.toml").write_text(
        f"[calendar]\n{OVERRIDES_2027}complete_years = [2027]\n", encoding="utf-8"
    )

    assert _warnings(tmp_path, QINGXI_2027) == []


def test_a_plan_can_declare_a_year_complete_too(tmp_path: Path) -> None:
    plan = QINGXI_2027 + f"\n[calendar]\n{OVERRIDES_2027}complete_years = [2027]\n"

    assert parse_plan(plan, "p.toml").calendar.complete_years == frozenset({2027})
    assert _warnings(tmp_path, plan) == []


def test_a_complete_year_still_counts_its_declared_holidays() -> None:
    calendar = WorkdayCalendar(
        CalendarOverrides(holidays=frozenset({date(2027, 4, 5)}), complete_years=frozenset({2027}))
    )

    assert calendar.add_workdays(date(2027, 4, 2), 1) == date(2027, 4, 6)
    assert calendar.missing_years == set()


def test_cuibao_calendar_shows_the_data_years_and_the_overrides_in_force(tmp_path: Path) -> None:
    first, last = package_years()
    (tmp_path / "config.toml").write_text(
        "[calendar]\nholidays = [2027-02-06, 2027-02-08]\nworkdays = [2027-02-07]\n"
        "complete_years = [2027]\n",
        encoding="utf-8",
    )

    lines = _out("calendar").splitlines()

    assert lines[0].startswith("节假日数据:chinesecalendar ") and f"{first}–{last} 年" in lines[0]
    assert lines[1:3] == [
        "配置 config.toml 的 [calendar] 覆盖:",
        (
            "  2027 年:调休上班日 2027-02-07;节假日 2027-02-06, 2027-02-08;"
            "已声明完整(complete_years),不再警告"
        ),
    ]


def test_cuibao_calendar_warns_about_a_coming_year_nobody_has_filled_in() -> None:
    lines = _out("calendar", "--lang", "en").splitlines()

    next_year = datetime.now(UTC).year + 1
    if next_year > package_years()[1]:
        assert lines[-1].startswith(f"! no holiday data for {next_year}: deadlines and nudges")
        assert f"complete_years = [{next_year}]" in lines[-1]
