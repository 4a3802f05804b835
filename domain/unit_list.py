"""A coordinator's unit list (通讯录) against a plan: which units it adds. Units are matched
by name; a list never renames or retires a unit, it only adds the ones a plan lacks."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from domain.plan import Plan, mobile_number
from domain.plan_draft import PLACEHOLDER


@dataclass(frozen=True)
class ListedUnit:
    name: str
    group: str
    contact: str = ""
    phone: str = ""
    row: int = 0  # the spreadsheet row it came from


@dataclass(frozen=True)
class NewUnit:
    id: str
    name: str
    group: str
    contact: str = ""
    phone: str = ""


@dataclass(frozen=True)
class UnitMerge:
    added: tuple[NewUnit, ...]
    known: tuple[str, ...]  # listed names the plan already has
    regrouped: tuple[str, ...]  # known names listed under another group (left as they are)
    not_listed: tuple[str, ...]  # plan units missing from the list (kept, never retired)
    placeholder: str | None = None  # a draft's placeholder unit the list replaces


def merge_unit_list(plan: Plan, listed: Sequence[ListedUnit]) -> UnitMerge:
    by_name = {u.name: u for u in plan.units}
    placeholder = next(
        (
            u.id
            for u in plan.units
            if u.name.startswith(PLACEHOLDER)
            and not any(u.id in (o.units or ()) for o in plan.obligations)
        ),
        None,
    )
    taken = {u.id for u in plan.units}
    added: list[NewUnit] = []
    n = 0
    for item in listed:
        if item.name in by_name:
            continue
        n += 1
        while f"u{n:03d}" in taken:
            n += 1
        taken.add(f"u{n:03d}")
        added.append(NewUnit(f"u{n:03d}", item.name, item.group, item.contact, item.phone))
    names = {x.name for x in listed}
    return UnitMerge(
        tuple(added),
        tuple(x.name for x in listed if x.name in by_name),
        tuple(x.name for x in listed if x.name in by_name and by_name[x.name].group != x.group),
        tuple(u.name for u in plan.units if u.name not in names and u.id != placeholder),
        placeholder if added else None,
    )


def add_units_to_plan_text(
    text: str, added: Sequence[NewUnit], placeholder: str | None = None
) -> str:
    """The plan's text with `[[units]]` tables appended; a draft's placeholder unit block
    is taken out. A contact with a mobile number becomes the unit's `liaison` (on DingTalk
    the bot offers them the binding); any other contact detail stays as a comment."""
    if placeholder is not None:
        block = re.compile(
            r"^\[\[units\]\]\nid = "
            + re.escape(json.dumps(placeholder))
            + r'\nname = "[^"\n]*"\n\n?',
            re.MULTILINE,
        )
        text = block.sub("", text, count=1)
    lines = [text.rstrip("\n"), ""]
    for unit in added:
        lines.append("[[units]]")
        mobile = mobile_number(unit.phone)
        if (unit.contact or unit.phone) and mobile is None:
            lines.append("# " + " ".join(x for x in (unit.contact, unit.phone) if x))
        lines += [f"id = {_s(unit.id)}", f"name = {_s(unit.name)}"]
        if unit.group:
            lines.append(f"group = {_s(unit.group)}")
        if mobile is not None:
            lines.append(f"liaison = {{ name = {_s(unit.contact)}, mobile = {_s(mobile)} }}")
        lines.append("")
    return "\n".join(lines)


def _s(text: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML for these characters)."""
    return json.dumps(text, ensure_ascii=False)
