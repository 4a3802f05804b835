"""A plan revision's difference in words, the same for the chat and the command line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from conversation.i18n import Catalogue
from domain.plan_revision import DeadlineChange, ObligationChange, PlanRevision, UnitChange

SHOWN = 10  # items listed per kind of change; the rest are counted ("… and 40 more")


def revision_text(
    catalogue: Catalogue, revision: PlanRevision, language: str | None = None
) -> str:
    """What confirming would change: units, obligations and deadlines added, renamed,
    moved, retired or cancelled, each flagged with the people and reports it touches."""

    def t(key: str, **params: object) -> str:
        return catalogue.text(key, language, **params)

    zone = ZoneInfo(revision.timezone)

    def when(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def unit(c: UnitChange) -> str:
        line = (
            t("revision.unit_renamed", code=c.code, old=c.old_name, new=c.name)
            if c.old_name
            else t("revision.unit", code=c.code, name=c.name)
        )
        return line + (
            t("revision.unit_in_use", people=c.people, submissions=c.submissions)
            if c.in_use
            else ""
        )

    def obligation(c: ObligationChange) -> str:
        if c.old_title:
            return t("revision.obligation_retitled", code=c.code, old=c.old_title, new=c.title)
        return t("revision.obligation", code=c.code, title=c.title)

    def deadline(c: DeadlineChange) -> str:
        line = (
            t("revision.deadline_moved", title=c.title, old=when(c.old_due), new=when(c.due))
            if c.old_due is not None
            else t("revision.deadline", title=c.title, due=when(c.due))
        )
        return line + (
            t("revision.deadline_in_use", submissions=c.submissions, drafts=c.drafts)
            if c.in_use
            else ""
        )

    lines = [t("revision.header", campaign=revision.campaign, version=revision.base_version)]
    if revision.renames_campaign:
        lines.append(t("revision.campaign_renamed", old=revision.old_name, new=revision.new_name))
    sections: list[tuple[str, Sequence[str]]] = [
        ("revision.units_added", [unit(c) for c in revision.units_added]),
        ("revision.units_renamed", [unit(c) for c in revision.units_renamed]),
        ("revision.units_retired", [unit(c) for c in revision.units_retired]),
        ("revision.obligations_added", [obligation(c) for c in revision.obligations_added]),
        ("revision.obligations_retitled", [obligation(c) for c in revision.obligations_retitled]),
        ("revision.obligations_retired", [obligation(c) for c in revision.obligations_retired]),
        ("revision.deadlines_added", [deadline(c) for c in revision.deadlines_added]),
        ("revision.deadlines_moved", [deadline(c) for c in revision.deadlines_moved]),
        ("revision.deadlines_cancelled", [deadline(c) for c in revision.deadlines_cancelled]),
    ]
    for key, items in sections:
        if not items:
            continue
        lines.append(t(key, count=len(items)))
        lines += ["  · " + item for item in items[:SHOWN]]
        if len(items) > SHOWN:
            lines.append("  · " + t("revision.more", count=len(items) - SHOWN))
    if not revision.structural:
        lines.append(t("revision.settings_only"))
    in_use = [c for c in (*revision.units_renamed, *revision.units_retired) if c.in_use]
    if in_use:
        lines.append(t("revision.warn_units", count=len(in_use)))
    return "\n".join(lines)
