"""A readable listing of an extraction, for people checking what was found."""

from __future__ import annotations

from domain.extract.model import ExtractedObligation, Extraction, Kind

_WEEKDAYS = "一二三四五六日"


def render_text(extraction: Extraction) -> str:
    """Numbered obligations, each with its schedule, parties and the quoted source."""
    issued = extraction.doc_date.isoformat() if extraction.doc_date else "unknown"
    lines = [f"Issued: {issued}", f"Obligations: {len(extraction.obligations)}"]
    for number, obligation in enumerate(extraction.obligations, start=1):
        lines.append("")
        lines.append(f"{number}. {schedule(obligation)}  {obligation.what or '(unnamed)'}")
        if obligation.sender or obligation.recipient:
            lines.append(f"   {obligation.sender or '?'} -> {obligation.recipient or '?'}")
        lines.append(f"   “{obligation.quote}”")
    return "\n".join(lines)


def schedule(o: ExtractedObligation) -> str:
    """The deadline in a few words: 2020-09-18, every Thu 15:00, 5 working days after X."""
    at = f" {o.time}" if o.time else ""
    if o.kind is Kind.ONCE:
        when = o.date.isoformat() if o.date else f"??-{o.month_day}"
        guessed = " (year inferred)" if o.year_inferred and o.date else ""
        return f"by {when}{at}{guessed}"
    if o.kind is Kind.DAILY:
        return f"daily{at}{_window(o)}"
    if o.kind is Kind.WEEKLY:
        day = f" 周{_WEEKDAYS[o.weekday - 1]}" if o.weekday else ""
        return f"weekly{day}{at}{_window(o)}"
    if o.kind in (Kind.MONTHLY, Kind.QUARTERLY):
        day = "last working day" if o.last_workday else _day(o.day_of_month)
        months = f" in months {','.join(map(str, o.months))}" if o.months else ""
        return f"{o.kind.value} {day}{months}{at}{_window(o)}"
    if o.kind is Kind.YEARLY:
        return f"yearly on {o.month_day or '?'}{at}"
    unit = {"relative_workdays": "working days", "relative_hours": "hours"}.get(o.kind, "days")
    return f"within {o.offset} {unit} of {o.anchor or '?'}"


def _day(day: int | None) -> str:
    if day is None:
        return "(day not stated)"
    return "last day" if day == -1 else f"day {day}"


def _window(o: ExtractedObligation) -> str:
    if o.window is None:
        return ""
    start, end = (d.isoformat() if d else "…" for d in o.window)
    return f" [{start} .. {end}]"
