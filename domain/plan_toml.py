"""Read a plan file (TOML) into a `Plan`, rejecting it whole on the first problem.

Errors carry the key path (``obligations[3].schedule.date``) or line, a catalogue code
and parameters; the caller renders them in the user's language.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.export_template import ExportTemplate, check_against, template_from_table
from domain.forms import Field, FieldType, Form
from domain.plan import (
    LAST_DAY,
    LAST_WORKDAY,
    CalendarOverrides,
    Contact,
    Daily,
    Monthly,
    Obligation,
    Once,
    PeriodRule,
    Phase,
    Plan,
    Quarterly,
    Relative,
    Schedule,
    Unit,
    Weekly,
    Window,
    Yearly,
    mobile_number,
)
from domain.plan_errors import PlanError
from domain.reminder_grammar import ReminderSyntaxError, parse_entry, parse_rules

__all__ = ["PLACEHOLDER", "PlanError", "parse_plan", "placeholders"]

PLACEHOLDER = "待填写"
"""What a drafted plan writes where the notice did not say (the units, the office)."""

DEFAULT_TIME = time(17, 30)
"""A deadline written as a day only ("12月15日前") falls due at the end of that office day."""
DEFAULT_TIMEZONE = "Asia/Shanghai"

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


class _Node:
    """A table of the plan file with its key path, for typed reads with good errors."""

    def __init__(self, data: dict[str, Any], path: str) -> None:
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, code: str, **params: Any) -> PlanError:
        return PlanError(code, self.at(key), params)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "missing_key")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML datetimes are dates too; a bool is an int to Python: neither is wanted here.
        wrong = (date in kinds and isinstance(value, datetime)) or (
            bool not in kinds and isinstance(value, bool)
        )
        if wrong or not isinstance(value, kinds):
            raise self.fail(key, "wrong_type", expected=_type_names(kinds), got=_type_name(value))
        return value

    def text(self, key: str, default: Any = ...) -> Any:
        value = self.get(key, str, default)
        if isinstance(value, str) and not value.strip() and default is ...:
            raise self.fail(key, "empty")
        return value

    def day(self, key: str, default: Any = ...) -> Any:
        value = self.get(key, (date, str), default)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise self.fail(key, date_problem(value), value=value) from None
        return value

    def clock(self, key: str, default: Any = ...) -> Any:
        value = self.get(key, (str, time), default)
        if isinstance(value, time) or value is None:
            return value
        m = _CLOCK.fullmatch(value.strip())
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise self.fail(key, "bad_time", value=value)
        return time(int(m.group(1)), int(m.group(2)))

    def ident(self, key: str) -> str:
        value: str = self.text(key)
        if not _ID.fullmatch(value):
            raise self.fail(key, "bad_id", value=value)
        return value

    def child(self, key: str, default: Any = ...) -> _Node | None:
        value = self.get(key, dict, default)
        return None if value is None else _Node(value, self.at(key))

    def children(self, key: str, required: bool = True) -> Iterator[_Node]:
        items = self.get(key, list, ... if required else [])
        if required and not items:
            raise self.fail(key, "empty")
        for i, item in enumerate(items):
            where = f"{self.at(key)}[{i}]"
            if not isinstance(item, dict):
                got = _type_name(item)
                raise PlanError("wrong_type", where, {"expected": "table", "got": got})
            yield _Node(item, where)

    def done(self) -> None:
        """Refuse keys nobody read: a typo such as `weekdy` must not be silently ignored."""
        for key in self.data:
            if key not in self.seen:
                raise self.fail(key, "unknown_key")


def parse_plan(text: str, source: str = "<plan>", *, check_reminders: bool = True) -> Plan:
    """Parse and check a plan file's text; raises `PlanError` naming `source`.

    `check_reminders=False` reads a version already stored: one accepted before its
    `reminders` lists were checked keeps working (the dispatcher falls back to the default
    policy for a bad list) instead of breaking every reader of the campaign.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        bad = _impossible_date(text)
        if bad is not None:
            raise PlanError("no_such_date", f"line {bad[0]}", {"value": bad[1]}, source) from None
        line = getattr(exc, "lineno", None) or _line_of(str(exc))
        detail = {"detail": _toml_detail(exc)}
        raise PlanError("toml_syntax", f"line {line}", detail, source) from None
    try:
        return _plan(_Node(data, ""), check_reminders)
    except PlanError as exc:
        exc.source = source
        raise


def _plan(root: _Node, check_reminders: bool = True) -> Plan:
    campaign = root.child("campaign")
    assert campaign is not None
    tz_name = campaign.text("timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise campaign.fail("timezone", "bad_timezone", value=tz_name) from None
    issued = campaign.day("issued")
    start = campaign.day("start")
    end = campaign.day("end", None)
    if end is not None and end < start:
        raise campaign.fail("end", "end_before_start")
    period = Window(start, end)
    default_time = campaign.clock("default_time", DEFAULT_TIME)
    ids = (campaign.ident("id"), campaign.text("name"), campaign.text("office"))
    coordinator = campaign.text("coordinator")
    escalate = campaign.text("escalate", "").strip()
    if escalate:
        try:
            rule = parse_entry(escalate)
        except ReminderSyntaxError as exc:
            code = f"reminder_{exc.code}"
            raise campaign.fail("escalate", code, value=escalate, **exc.params) from None
        if rule.sign <= 0 or rule.repeat != 1:
            raise campaign.fail("escalate", "escalate_after", value=escalate)
    campaign.done()

    phases = tuple(_phase(n) for n in root.children("phases", required=False))
    units = _units(root)
    forms = _forms(root)
    calendar = _calendar(root.child("calendar", None))
    ctx = _Context(period, issued, default_time, {u.id for u in units}, forms, check_reminders)
    obligations = _obligations(root, ctx)
    export = _export(root, forms, obligations)
    root.done()
    return Plan(
        id=ids[0],
        name=ids[1],
        office=ids[2],
        coordinator=coordinator,
        issued=issued,
        timezone=tz_name,
        period=period,
        default_time=default_time,
        phases=phases,
        units=units,
        forms=forms,
        obligations=obligations,
        calendar=calendar,
        escalate=escalate,
        export=export,
    )


def _export(
    root: _Node, forms: dict[str, Form], obligations: tuple[Obligation, ...]
) -> ExportTemplate | None:
    """`[export]`: the coordinator's own workbook and which cells the export fills."""
    node = root.child("export", None)
    if node is None:
        return None
    template = template_from_table(node.data, node.path, "")
    node.seen.update(node.data)
    name = template.file.replace("\\", "/")
    if name.startswith("/") or ":" in name or ".." in name.split("/"):
        raise node.fail("file", "bad_template_file", value=template.file)
    if not name.lower().endswith(".xlsx"):  # openpyxl reads neither .xls nor .et
        raise node.fail("file", "template_not_xlsx", value=template.file)
    check_against(template, {o.id: forms[o.form] for o in obligations}, "", node.path)
    return template


@dataclass(frozen=True)
class _Context:
    period: Window
    issued: date
    default_time: time
    unit_ids: set[str]
    forms: dict[str, Form]
    check_reminders: bool = True


def _window(node: _Node, default: Window) -> Window:
    start = node.day("start", default.start)
    end = node.day("end", default.end)
    if end is not None and end < start:
        raise node.fail("end", "end_before_start")
    return Window(start, end)


def _phase(node: _Node) -> Phase:
    name = node.text("name")
    window = Window(node.day("start"), node.day("end"))
    assert window.end is not None
    if window.end < window.start:
        raise node.fail("end", "end_before_start")
    node.done()
    return Phase(name, window)


def _units(root: _Node) -> tuple[Unit, ...]:
    units: list[Unit] = []
    seen: set[str] = set()
    for node in root.children("units"):
        unit = Unit(
            node.ident("id"),
            node.text("name"),
            node.text("group", ""),
            tuple(
                _contact(found, role)
                for role in ("liaison", "deputy")
                if (found := node.child(role, None)) is not None
            ),
        )
        if unit.id in seen:
            raise node.fail("id", "duplicate_id", value=unit.id)
        seen.add(unit.id)
        node.done()
        units.append(unit)
    return tuple(units)


def _contact(node: _Node, role: str) -> Contact:
    """`liaison = { name = "李明", mobile = "13800000001" }` or `{ dingtalk = "userid" }`."""
    name = node.text("name", "")
    dingtalk = node.text("dingtalk", "").strip()
    typed = node.text("mobile", "")
    mobile = mobile_number(typed) or ""
    if typed.strip() and not mobile:
        raise node.fail("mobile", "bad_mobile", value=typed)
    node.done()  # a misspelt key first: `phone = …` is not a missing mobile
    if not dingtalk and not mobile:
        raise node.fail("mobile", "contact_needs_id")
    return Contact(role, name, dingtalk, mobile)


def _calendar(node: _Node | None) -> CalendarOverrides:
    if node is None:
        return CalendarOverrides()
    days: dict[str, frozenset[date]] = {}
    for key in ("workdays", "holidays"):
        values = node.get(key, list, [])
        for i, value in enumerate(values):
            if not isinstance(value, date) or isinstance(value, datetime):
                raise PlanError(
                    "wrong_type",
                    f"{node.at(key)}[{i}]",
                    {"expected": "date", "got": _type_name(value)},
                )
        days[key] = frozenset(values)
    years = node.get("complete_years", list, [])
    for i, value in enumerate(years):
        if not isinstance(value, int) or isinstance(value, bool):
            raise PlanError(
                "wrong_type",
                f"{node.at('complete_years')}[{i}]",
                {"expected": "integer", "got": _type_name(value)},
            )
    node.done()
    both = days["workdays"] & days["holidays"]
    if both:
        raise node.fail("workdays", "day_both_ways", value=min(both).isoformat())
    return CalendarOverrides(days["workdays"], days["holidays"], frozenset(years))


def _forms(root: _Node) -> dict[str, Form]:
    table = root.child("forms")
    assert table is not None
    forms: dict[str, Form] = {}
    for form_id in list(table.data):
        node = table.child(form_id)
        assert node is not None
        if not _ID.fullmatch(form_id):
            raise PlanError("bad_id", node.path, {"value": form_id})
        fields = tuple(_field(n) for n in node.children("fields"))
        dup = _first_duplicate(f.id for f in fields)
        if dup:
            raise node.fail("fields", "duplicate_id", value=dup)
        forms[form_id] = Form(
            id=form_id,
            title=node.text("title"),
            fields=fields,
            allow_nil=node.get("allow_nil", bool, False),
            description=node.text("description", ""),
        )
        node.done()
    if not forms:
        raise root.fail("forms", "empty")
    return forms


def _field(node: _Node) -> Field:
    kind_text = node.text("type")
    try:
        kind = FieldType(kind_text)
    except ValueError:
        raise node.fail(
            "type", "bad_choice", value=kind_text, allowed=", ".join(t.value for t in FieldType)
        ) from None
    bounds = {k: node.get(k, (int, float), None) for k in ("min", "max")}
    options = tuple(node.get("options", list, []))
    if kind in (FieldType.CHOICE, FieldType.MULTICHOICE) and not options:
        raise node.fail("options", "missing_key")
    spec = Field(
        id=node.ident("id"),
        label=node.text("label"),
        type=kind,
        required=node.get("required", bool, True),
        help=node.text("help", ""),
        unit=node.text("unit", ""),
        min=None if bounds["min"] is None else Decimal(str(bounds["min"])),
        max=None if bounds["max"] is None else Decimal(str(bounds["max"])),
        places=node.get("places", int, 2),
        max_length=node.get("max_length", int, None),
        options=tuple(str(o) for o in options),
        max_files=node.get("max_files", int, 5),
    )
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        raise node.fail("max", "max_below_min")
    node.done()
    return spec


def _obligations(root: _Node, ctx: _Context) -> tuple[Obligation, ...]:
    result: list[Obligation] = []
    seen: set[str] = set()
    for node in root.children("obligations"):
        ob_id = node.ident("id")
        if ob_id in seen:
            raise node.fail("id", "duplicate_id", value=ob_id)
        seen.add(ob_id)
        form = node.text("form")
        if form not in ctx.forms:
            raise node.fail("form", "unknown_form", value=form, known=", ".join(ctx.forms))
        units = node.get("units", (list, str), None)
        if units == "all":
            units = None
        elif isinstance(units, str):
            raise node.fail("units", "bad_units")
        if units is not None:
            for u in units:
                if u not in ctx.unit_ids:
                    raise node.fail("units", "unknown_unit", value=u)
            units = tuple(units)
        schedule_node = node.child("schedule")
        assert schedule_node is not None
        reminders = _reminders(node, ctx.check_reminders)
        result.append(
            Obligation(
                id=ob_id,
                title=node.text("title"),
                form=form,
                schedule=_schedule(schedule_node, ctx),
                time=node.clock("time", ctx.default_time),
                units=units,
                recipient=node.text("recipient", ""),
                note=node.text("note", ""),
                reminders=reminders,
            )
        )
        node.done()
    return tuple(result)


def _reminders(node: _Node, check: bool) -> tuple[str, ...] | None:
    """An obligation's own reminder policy: each entry checked against the grammar in
    domain/reminder_grammar.py, a bad one named by its key path (`obligations[2].reminders[1]`)."""
    entries = node.get("reminders", list, None)
    if entries is None:
        return None
    if not check:
        return tuple(str(e) for e in entries)
    where = node.at("reminders")
    for i, entry in enumerate(entries):
        if not isinstance(entry, str):
            raise PlanError(
                "wrong_type", f"{where}[{i}]", {"expected": "string", "got": _type_name(entry)}
            )
    try:
        parse_rules(entries)
    except ReminderSyntaxError as exc:
        raise PlanError(
            f"reminder_{exc.code}", f"{where}[{exc.index}]", {"value": exc.entry, **exc.params}
        ) from None
    return tuple(entries)


def _schedule(node: _Node, ctx: _Context) -> Schedule:
    kind = node.text("kind")
    builder = _SCHEDULES.get(kind)
    if builder is None:
        raise node.fail("kind", "bad_choice", value=kind, allowed=", ".join(_SCHEDULES))
    schedule = builder(node, ctx)
    node.done()
    return schedule


def _once(node: _Node, ctx: _Context) -> Once:
    if "dates" in node.data:
        node.seen.add("dates")
        days = tuple(
            _date_item(node, "dates", i, v) for i, v in enumerate(node.get("dates", list))
        )
        if not days:
            raise node.fail("dates", "empty")
        return Once(tuple(sorted(set(days))))
    return Once((node.day("date"),))


def _date_item(node: _Node, key: str, index: int, value: Any) -> date:
    """One element of a list of dates, with errors naming `key[index]` itself."""
    where = f"{node.at(key)}[{index}]"
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PlanError(date_problem(value), where, {"value": value}) from None
    raise PlanError("wrong_type", where, {"expected": "date", "got": _type_name(value)})


def _weekly(node: _Node, ctx: _Context) -> Weekly:
    weekday = node.get("weekday", int)
    if not 1 <= weekday <= 7:
        raise node.fail("weekday", "out_of_range", low=1, high=7, value=weekday)
    on_holiday = node.text("on_holiday", None)
    if on_holiday not in (None, *HOLIDAY_CHOICES):
        raise node.fail(
            "on_holiday", "bad_choice", value=on_holiday, allowed=", ".join(HOLIDAY_CHOICES)
        )
    return Weekly(weekday, _window(node, ctx.period), on_holiday)


HOLIDAY_CHOICES = ("keep", "before", "after")


def _daily(node: _Node, ctx: _Context) -> Daily:
    windows: list[Window] = []
    if "windows" in node.data:
        for i, pair in enumerate(node.get("windows", list)):
            where = f"{node.at('windows')}[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise PlanError("bad_window", where, {})
            sub = _Node({"start": pair[0], "end": pair[1]}, where)
            windows.append(_window(sub, ctx.period))
    else:
        windows.append(_window(node, ctx.period))
    return Daily(tuple(windows), node.get("workdays_only", bool, False))


def _day_of_month(node: _Node, key: str = "day", *, workday: bool = True) -> int:
    value = node.get(key, (int, str))
    if value in ("last", "end", "月底"):
        return LAST_DAY
    if workday and value in ("last_workday", "最后一个工作日"):
        return LAST_WORKDAY
    if isinstance(value, str) or not (1 <= value <= 31 or value == LAST_DAY):
        raise node.fail(key, "out_of_range", low=1, high=31, value=value)
    return int(value)


def _period(node: _Node) -> PeriodRule | None:
    value = node.get("period", (str, dict), None)
    if value is None:
        return None
    if isinstance(value, str):
        if value not in ("previous_month", "previous_quarter", "previous_year", "current_month"):
            raise node.fail(
                "period",
                "bad_choice",
                value=value,
                allowed="previous_month, previous_quarter, previous_year, "
                "current_month, {start_day, end_day}",
            )
        return PeriodRule(value)
    sub = _Node(value, node.at("period"))
    rule = PeriodRule(
        "cutoff",
        _day_of_month(sub, "start_day", workday=False),
        _day_of_month(sub, "end_day", workday=False),
    )
    sub.done()
    return rule


def _monthly(node: _Node, ctx: _Context) -> Monthly:
    return Monthly(_day_of_month(node), _window(node, ctx.period), _period(node))


def _quarterly(node: _Node, ctx: _Context) -> Quarterly:
    months = tuple(node.get("months", list, [1, 4, 7, 10]))
    if len(months) == 0 or any(not isinstance(m, int) or not 1 <= m <= 12 for m in months):
        raise node.fail("months", "out_of_range", low=1, high=12, value=months)
    return Quarterly(months, _day_of_month(node), _window(node, ctx.period), _period(node))


def _yearly(node: _Node, ctx: _Context) -> Yearly:
    month = node.get("month", int)
    if not 1 <= month <= 12:
        raise node.fail("month", "out_of_range", low=1, high=12, value=month)
    return Yearly(month, _day_of_month(node), _window(node, ctx.period), _period(node))


def _relative(node: _Node, ctx: _Context) -> Relative:
    offset = node.get("offset", int)
    if offset < 0:
        raise node.fail("offset", "out_of_range", low=0, high="∞", value=offset)
    unit = node.text("unit", "workdays")
    # anchor = "event": the date depends on something the plan cannot know (案件办结后).
    event = node.data.get("anchor") == EVENT_ANCHOR
    # Hours count only from an event (发生事故后2小时内): a dated anchor takes days.
    units = ("workdays", "days", "hours") if event else ("workdays", "days")
    if unit not in units:
        raise node.fail("unit", "bad_choice", value=unit, allowed=", ".join(units))
    if event:
        node.seen.add("anchor")
    anchor = None if event else node.day("anchor", ctx.issued)
    label = node.text("anchor_label", "")
    return Relative(offset, unit == "workdays", anchor, label, hours=unit == "hours")


EVENT_ANCHOR = "event"


_SCHEDULES: dict[str, Callable[[_Node, _Context], Schedule]] = {
    "once": _once,
    "weekly": _weekly,
    "daily": _daily,
    "monthly": _monthly,
    "quarterly": _quarterly,
    "yearly": _yearly,
    "relative": _relative,
}


def _first_duplicate(values: Iterator[str] | Any) -> str | None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            return str(v)
        seen.add(v)
    return None


def _type_name(value: Any) -> str:
    return _type_names((type(value),))


def _type_names(kinds: tuple[type, ...]) -> str:
    names = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "true/false",
        list: "array",
        dict: "table",
        date: "date",
        time: "time",
        datetime: "date-time",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)


_DATE_LITERAL = re.compile(r"(?<![\w\"'-])(\d{4})-(\d{2})-(\d{2})(?![\w:])")


def _impossible_date(text: str) -> tuple[int, str] | None:
    """The first date literal that no calendar has (2017-02-30), which tomllib reports
    only as a generic syntax error."""
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0]
        for m in _DATE_LITERAL.finditer(code):
            try:
                date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return number, m.group(0)
    return None


def _line_of(message: str) -> str:
    m = re.search(r"line (\d+)", message)
    return m.group(1) if m else "?"


def _toml_detail(exc: tomllib.TOMLDecodeError) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", str(msg))


def placeholders(text: str) -> tuple[str, ...]:
    """Key paths whose values still hold the draft's 待填写: `plan load` refuses those."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return ()
    return tuple(_placeholder_paths(data, ""))


def _placeholder_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str) and PLACEHOLDER in value:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _placeholder_paths(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholder_paths(item, f"{path}[{index}]")


def date_problem(value: str) -> str:
    """Why a date string was refused: a day that does not exist (2017-02-30), or not the
    YYYY-MM-DD shape at all (2017/2/3, 下周一)."""
    return "no_such_date" if _ISO_DATE.fullmatch(value.strip()) else "bad_date"


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
