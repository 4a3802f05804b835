"""Plain-text and JSON renderings of a plan's schedule for the command line."""

from __future__ import annotations

import unicodedata
from typing import Any

from conversation.i18n import Catalogue
from domain.plan import Plan
from scheduler.deadlines import Expansion


def schedule_json(plan: Plan, expansion: Expansion, catalogue: Catalogue) -> dict[str, Any]:
    titles = {o.id: o.title for o in plan.obligations}
    return {
        "campaign": plan.id,
        "deadlines": [
            {
                "obligation": d.obligation_id,
                "title": titles[d.obligation_id],
                "due": d.due.isoformat(),
                "period": [d.period[0].isoformat(), d.period[1].isoformat()] if d.period else None,
            }
            for d in expansion.deadlines
        ],
        "warnings": [catalogue.text(f"warning.{w.code}", **w.params) for w in expansion.warnings],
    }


def render_schedule(plan: Plan, expansion: Expansion, catalogue: Catalogue) -> str:
    t = catalogue.text
    obligations = {o.id: o for o in plan.obligations}
    header = [
        t("check.col.no"),
        t("check.col.due"),
        t("check.col.title"),
        t("check.col.period"),
        t("check.col.units"),
    ]
    rows = []
    for i, d in enumerate(expansion.deadlines, start=1):
        ob = obligations[d.obligation_id]
        period = f"{d.period[0]}~{d.period[1]}" if d.period else ""
        units = (
            t("check.all_units", count=len(plan.units))
            if ob.units is None
            else "、".join(plan.unit(u).name for u in ob.units)
        )
        rows.append(
            [str(i), f"{d.due:%Y-%m-%d %H:%M}", f"{ob.title} {d.title_suffix}", period, units]
        )
    lines = [
        t(
            "check.header",
            campaign=plan.id,
            name=plan.name,
            office=plan.office,
            count=len(expansion.deadlines),
        ),
        "",
    ]
    lines += _table([header, *rows])
    if expansion.warnings:
        lines += ["", t("check.warnings")]
        lines += ["  ! " + t(f"warning.{w.code}", **w.params) for w in expansion.warnings]
    return "\n".join(lines)


def width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell + " " * (w - width(cell)) for cell, w in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]
