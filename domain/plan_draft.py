"""Write a draft plan file (TOML) from the obligations extracted from a notice.

The draft is meant to be read and corrected by the coordinator: every obligation carries
the sentence it came from as a comment, and whatever the notice does not say (the unit
list, the office) is a clearly marked placeholder. It always passes `cuibao plan check`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from domain.extract import ExtractedObligation, Extraction, Kind
from domain.plan_toml import EVENT_ANCHOR, PLACEHOLDER

__all__ = ["PLACEHOLDER", "DraftNotes", "DraftOptions", "campaign_id_for", "draft_plan"]


@dataclass(frozen=True)
class DraftNotes:
    """The draft's comments. The command line passes them in the reader's language, from
    the catalogue; a caller that passes none gets both languages."""

    header: str = (
        "由 `cuibao plan extract` 根据下面的通知生成的方案草稿:请逐项对照原文核对,把占位的"
        "报送单位换成实际单位,再运行 `cuibao plan check` 和 `cuibao plan load`。\n"
        "Draft written by `cuibao plan extract` from the notice below. Check every "
        "obligation against its source sentence, replace the placeholder units with the "
        "real ones, then run `cuibao plan check` and `cuibao plan load`."
    )
    assumed_issue: str = "推定:通知未写明发文日期 / ASSUMED: the notice states no date of issue"
    source: str = "原文:{quote}"
    not_converted: str = "未转换(没有对应的规则)/ Not converted (no rule for it): {kind}: {quote}"


@dataclass(frozen=True)
class DraftOptions:
    campaign_id: str
    name: str
    today: date  # issue date when the notice states none
    units: tuple[tuple[str, str], ...] = ()  # (id, name); a placeholder unit when empty
    office: str = PLACEHOLDER
    notes: DraftNotes = DraftNotes()


def _s(text: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML for these characters)."""
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> str:
    return "\n".join("# " + line for line in text.splitlines() if line.strip())


def _slug(text: str, fallback: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60] or fallback


def _dates(obligations: Iterable[ExtractedObligation]) -> list[date]:
    found: list[date] = []
    for ob in obligations:
        if ob.date:
            found.append(ob.date)
        if ob.window:
            found += [d for d in ob.window if d is not None]
    return found


def draft_plan(extraction: Extraction, options: DraftOptions) -> str:
    """A plan file's text for the extracted obligations."""
    usable = [ob for ob in extraction.obligations if _schedule(ob, extraction) is not None]
    dates = _dates(usable)
    issued = extraction.doc_date or options.today
    start = min([issued, *dates])
    end = max(dates) if dates else None
    if extraction.campaign is not None:
        # 自6月10日起至12月31日: the campaign's own start, even when a list or a plan is due
        # before it; the end is widened only to hold its deadlines.
        start = extraction.campaign[0]
        end = max([extraction.campaign[1], *dates])
    # 每年12月10日前 in a campaign that ends in October: hold its first occurrence.
    yearly = [_with_year(ob.month_day, start) for ob in usable if ob.kind is Kind.YEARLY]
    end = (
        max([d for d in yearly if d is not None], default=end)
        if end is None
        else max([end, *(d for d in yearly if d is not None)])
    )
    # Who collects the dated reports: an event's first call (属地应急管理部门, 值班室) is not the
    # campaign's coordinator, and 县防办邮箱xx@163.com is 县防办.
    dated = [ob for ob in usable if ob.kind not in _EVENT_KINDS] or usable
    coordinator = _most_common([_office(ob.recipient) for ob in dated]) or PLACEHOLDER
    office = options.office if options.office != PLACEHOLDER else extraction.issuer
    notes = options.notes
    lines = [
        _comment(notes.header),
        "",
        "[campaign]",
        f"id = {_s(options.campaign_id)}",
        f"name = {_s(extraction.name or options.name)}",
        f"office = {_s(office or PLACEHOLDER)}",
        f"coordinator = {_s(coordinator)}",
        f"issued = {issued.isoformat()}"
        + ("" if extraction.doc_date else f"  # {notes.assumed_issue}"),
        f"start = {start.isoformat()}",
    ]
    if end is not None and end >= start:
        lines.append(f"end = {end.isoformat()}")
    lines.append("")
    units = options.units or ((("unit-1", f"{PLACEHOLDER}:报送单位"),))
    for unit_id, unit_name in units:
        lines += ["[[units]]", f"id = {_s(unit_id)}", f"name = {_s(unit_name)}", ""]
    lines += [
        "[forms.report]",
        f"title = {_s('报送材料')}",
        "allow_nil = true",
        "[[forms.report.fields]]",
        'id = "content"',
        f"label = {_s('报送内容')}",
        'type = "longtext"',
        "required = false",
        "[[forms.report.fields]]",
        'id = "files"',
        f"label = {_s('附件')}",
        'type = "file"',
        "required = false",
        "",
    ]
    skipped = [ob for ob in extraction.obligations if ob not in usable]
    for index, ob in enumerate(usable, start=1):
        schedule = _schedule(ob, extraction)
        assert schedule is not None
        lines += [
            _comment(notes.source.format(quote=ob.quote)),
            "[[obligations]]",
            f"id = {_s(f'obligation-{index}')}",
            f"title = {_s(ob.what or '报送材料')}",
            'form = "report"',
        ]
        if ob.time:
            lines.append(f"time = {_s(ob.time)}")
        if ob.recipient:
            lines.append(f"recipient = {_s(ob.recipient)}")
        lines += [f"note = {_s(ob.quote)}", f"schedule = {{ {schedule} }}", ""]
    for ob in skipped:
        lines += [_comment(notes.not_converted.format(kind=ob.kind.value, quote=ob.quote)), ""]
    return "\n".join(lines)


def _schedule(ob: ExtractedObligation, extraction: Extraction) -> str | None:
    window = ""
    if ob.window:
        start, end = ob.window
        window = "".join(
            f", {key} = {d.isoformat()}"
            for key, d in (("start", start), ("end", end))
            if d is not None
        )
    match ob.kind:
        case Kind.ONCE:
            day = ob.date or _with_year(ob.month_day, extraction.doc_date)
            return f'kind = "once", date = {day.isoformat()}' if day else None
        case Kind.WEEKLY if ob.weekday:
            return f'kind = "weekly", weekday = {ob.weekday}{window}'
        case Kind.DAILY if ob.window and ob.window[0] and ob.window[1]:
            return f'kind = "daily"{window}'
        case Kind.MONTHLY if ob.day_of_month:
            dom = '"last"' if ob.day_of_month == -1 else str(ob.day_of_month)
            dom = '"last_workday"' if ob.last_workday else dom
            return f'kind = "monthly", day = {dom}{window}{_period(ob)}'
        case Kind.QUARTERLY if ob.day_of_month:
            months = list(ob.months or (1, 4, 7, 10))
            return (
                f'kind = "quarterly", months = {months}, day = {ob.day_of_month}{window}'
                f"{_period(ob)}"
            )
        case Kind.YEARLY if ob.month_day:
            month, mday = (int(x) for x in ob.month_day.split("-"))
            return f'kind = "yearly", month = {month}, day = {mday}{window}{_period(ob)}'
        case Kind.RELATIVE_HOURS if ob.offset is not None:
            # 发生事故后2小时内报告: an event-anchored duty `plan check` reports, not a comment.
            label = f", anchor_label = {_s(ob.anchor)}" if ob.anchor else ""
            return (
                f'kind = "relative", offset = {ob.offset}, unit = "hours", '
                f'anchor = "{EVENT_ANCHOR}"{label}'
            )
        case Kind.RELATIVE_WORKDAYS | Kind.RELATIVE_DAYS if ob.offset is not None:
            unit = "workdays" if ob.kind is Kind.RELATIVE_WORKDAYS else "days"
            label = f", anchor_label = {_s(ob.anchor)}" if ob.anchor else ""
            return (
                f'kind = "relative", offset = {ob.offset}, unit = "{unit}"'
                f"{_anchor(ob.anchor, extraction)}{label}"
            )
    return None


# 本通知印发之日起 / 收到通知后: the plan's issue date, which `relative` counts from anyway.
_ISSUE_ANCHOR = re.compile(r"印发|下发|发布|收到|之日起|即日起|通知后$")
_EDGE = re.compile(r"(?P<label>.*?)(?:阶段|期)?(?P<edge>结束|开始|启动)(?:后|之日起|之后)?$")
_CAMPAIGN_WORDS = re.compile(r"^(?:本次|此次|本|全部)?\S{0,8}(?:行动|活动|整治|检查|工作|专项)$")


def _anchor(label: str | None, extraction: Extraction) -> str:
    """The date an anchor stands for: the issue date (default), a phase's or the campaign's
    start or end the notice dates, or else an event the coordinator must date."""
    if not label or _ISSUE_ANCHOR.search(label):
        return ""
    edge = _EDGE.fullmatch(label)
    if edge is not None:
        name, starts = edge.group("label"), edge.group("edge") != "结束"
        for stage in extraction.phases:
            if name and (stage.label in name or name in stage.label):
                return f", anchor = {(stage.start if starts else stage.end).isoformat()}"
        if extraction.campaign is not None and _CAMPAIGN_WORDS.match(name):
            day = extraction.campaign[0] if starts else extraction.campaign[1]
            return f", anchor = {day.isoformat()}"
    # A `relative` anchor the plan cannot date: `plan check` says the coordinator sets it.
    return f', anchor = "{EVENT_ANCHOR}"'


def _period(ob: ExtractedObligation) -> str:
    if ob.period is None:
        return ""
    named = _NAMED_PERIODS.get((ob.period.start, ob.period.end))
    if named is not None:
        return f', period = "{named}"'
    m_start = re.fullmatch(r"prev-(\d{1,2})", ob.period.start)
    m_end = re.fullmatch(r"cur-(\d{1,2})", ob.period.end)
    if m_start and m_end:
        return f", period = {{ start_day = {m_start.group(1)}, end_day = {m_end.group(1)} }}"
    return ""


_NAMED_PERIODS = {
    ("prev-1", "prev-last"): "previous_month",
    ("prev-quarter-start", "prev-quarter-end"): "previous_quarter",
    ("prev-year-start", "prev-year-end"): "previous_year",
    ("cur-1", "cur-last"): "current_month",
}


def _with_year(month_day: str | None, doc_date: date | None) -> date | None:
    if not month_day or doc_date is None:
        return None
    month, day = (int(x) for x in month_day.split("-"))
    try:
        candidate = date(doc_date.year, month, day)
    except ValueError:
        return None
    # A deadline earlier in the year than the notice belongs to the next year.
    return candidate if candidate >= doc_date else candidate.replace(year=doc_date.year + 1)


_EVENT_KINDS = (Kind.RELATIVE_HOURS, Kind.RELATIVE_DAYS, Kind.RELATIVE_WORKDAYS)
_MAILBOX = re.compile(r"(?:的)?(?:电子)?(?:邮箱|信箱|电子邮件)\S*$|[\w.+-]+@[\w.-]+$")


def _office(recipient: str | None) -> str | None:
    if not recipient:
        return None
    return _MAILBOX.sub("", recipient).strip() or None


def _most_common(values: Iterable[str | None]) -> str | None:
    counts: dict[str, int] = {}
    for v in values:
        if v and "未写明" not in v:
            counts[v] = counts.get(v, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else None


def campaign_id_for(file_stem: str) -> str:
    return _slug(file_stem, "campaign")
