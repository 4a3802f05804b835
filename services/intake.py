"""Intake from spreadsheets: a unit fills in cuibao's 指标/数值 blank instead of typing.

`blank` hands out the blank for the actor's open draft (one line per typed field, its
unit of measure and a hint, the draft's answers already in it). `fill` reads a returned
blank and validates every value exactly as a typed answer (`domain.forms.check_answer`);
only if all of them pass are they written into the draft, in one transaction, and the
draft moves on (to the files, or to the preview that the unit confirms as usual). A file
that is too big, password-protected, has macros, is damaged or is not a blank, a blank of
another form, or any invalid value changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.drafting import DraftState
from domain.forms import Answer, Field, FieldType, Form, Invalid, check_answer
from services.access import Actor
from services.campaign_reads import PlanRegistry
from services.export import Texts
from storage import models as m
from storage.spreadsheets import (
    BlankLine,
    BlankSpec,
    FilledBlank,
    ReadProblem,
    read_blank,
    write_blank,
)


@dataclass(frozen=True)
class Blank:
    file_name: str
    data: bytes


@dataclass(frozen=True)
class FieldProblem:
    """One value of the blank that a typed answer would also have been refused for."""

    row: int  # 0: the field's line is missing from the sheet
    field_id: str
    label: str
    value: str
    invalid: Invalid


@dataclass(frozen=True)
class Refused:
    """Nothing was changed. `code` is a catalogue key under `intake.`."""

    code: str
    params: dict[str, Any]
    problems: tuple[FieldProblem, ...] = ()


@dataclass(frozen=True)
class Filled:
    draft_id: int
    answered: int  # fields given a value
    skipped: int  # optional fields left empty


@dataclass(frozen=True)
class _Loaded:
    draft: m.Draft
    deadline: m.Deadline
    obligation: m.Obligation
    campaign: m.Campaign
    unit: m.Unit
    form: Form


class IntakeService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], plans: PlanRegistry, max_bytes: int
    ) -> None:
        self.sessions = sessions
        self.plans = plans
        self.max_bytes = max_bytes

    async def blank(
        self, actor: Actor, draft_id: int, texts: Texts, language: str | None
    ) -> Blank | Refused:
        """The blank for one of the actor's drafts, prefilled with what it holds."""
        async with self.sessions() as s:
            loaded = await self._own_draft(s, actor, draft_id)
            if isinstance(loaded, Refused):
                return loaded
        return _blank(loaded, texts, language)

    async def fill(
        self, actor: Actor, draft_id: int, data: bytes, now: datetime
    ) -> Filled | Refused:
        """Read a filled-in blank into the actor's draft: all values, or none."""
        read = read_blank(data, max_bytes=self.max_bytes)
        if isinstance(read, ReadProblem):
            return Refused(f"read.{read.value}", {"max_mb": self.max_bytes // (1024 * 1024)})
        async with self.sessions.begin() as s:
            loaded = await self._own_draft(s, actor, draft_id)
            if isinstance(loaded, Refused):
                return loaded
            form = loaded.form
            if read.form_id != form.id:
                return Refused("wrong_form", {"form": form.title})
            checked = _check(form, read, now)
            if isinstance(checked, Refused):
                return checked
            state = DraftState.from_json(loaded.draft.state)
            state = replace(state, nil=False)
            for field_id, value in checked.items():
                state = state.answered(field_id, value)
            loaded.draft.state = state.to_json()
            loaded.draft.updated_at = now
        answered = sum(1 for v in checked.values() if v is not None)
        return Filled(draft_id, answered, len(checked) - answered)

    async def _own_draft(self, s: AsyncSession, actor: Actor, draft_id: int) -> _Loaded | Refused:
        draft = await s.get(m.Draft, draft_id)
        if (
            draft is None
            or draft.person_id != actor.person_id
            or draft.unit_id not in actor.unit_ids()
        ):
            return Refused("not_found", {})
        deadline = await s.get_one(m.Deadline, draft.deadline_id)
        if deadline.cancelled:
            return Refused("cancelled", {})
        obligation = await s.get_one(m.Obligation, deadline.obligation_id)
        campaign = await s.get_one(m.Campaign, deadline.campaign_id)
        unit = await s.get_one(m.Unit, draft.unit_id)
        plan = await self.plans.plan(s, deadline.campaign_id)
        form = plan.forms.get(obligation.form_code)
        if form is None or not form.typed_fields:
            return Refused("no_typed_fields", {})
        return _Loaded(draft, deadline, obligation, campaign, unit, form)


def _check(form: Form, read: FilledBlank, now: datetime) -> dict[str, Answer] | Refused:
    """Every typed field's value from the blank, validated as if it had been typed."""
    by_id: dict[str, tuple[int, str, str]] = {}
    for v in read.values:
        by_id.setdefault(v.field_id, (v.row, v.label, v.value))
    answers: dict[str, Answer] = {}
    problems: list[FieldProblem] = []
    for spec in form.typed_fields:
        row, _, raw = by_id.get(spec.id, (0, spec.label, ""))
        result = check_answer(spec, raw, now.date())
        if isinstance(result, Invalid):
            problems.append(FieldProblem(row, spec.id, spec.label, raw, result))
        else:
            answers[spec.id] = result.value
    if problems:
        return Refused("invalid", {"count": len(problems)}, tuple(problems))
    return answers


def _blank(loaded: _Loaded, texts: Texts, language: str | None) -> Blank:
    def t(key: str, **params: Any) -> str:
        return texts.text(key, language, **params)

    form, deadline = loaded.form, loaded.deadline
    due = deadline.due_at.astimezone(ZoneInfo(loaded.campaign.timezone))
    title = f"{form.title} · " + t(
        "deadline.repeating", title=loaded.obligation.title, seq=deadline.seq
    )
    notes = [
        t("intake.blank_how"),
        t("intake.blank_due", unit=loaded.unit.name, due=f"{due:%Y-%m-%d %H:%M}"),
    ]
    if deadline.period_start and deadline.period_end:
        notes.append(
            t(
                "deadline.period",
                start=deadline.period_start.isoformat(),
                end=deadline.period_end.isoformat(),
            )
        )
    state = DraftState.from_json(loaded.draft.state)
    values = {
        k: _prefill(form.field(k), v)
        for k, v in state.answers.items()
        if v is not None and any(f.id == k for f in form.typed_fields)
    }
    spec = BlankSpec(
        form.id,
        title,
        tuple(notes),
        (t("intake.col_label"), t("intake.col_value"), t("intake.col_unit"), t("intake.col_hint")),
        tuple(BlankLine(f.id, f.label, f.unit, _hint(f, t)) for f in form.typed_fields),
        values,
    )
    name = t("intake.blank_file_name", form=form.title, unit=loaded.unit.name)
    return Blank(name, write_blank(spec))


def _prefill(spec: Field, value: Answer) -> Any:
    if isinstance(value, list):
        return "、".join(value)
    if spec.type is FieldType.DECIMAL and isinstance(value, str):
        return Decimal(value)
    return value


def _hint(spec: Field, t: Any) -> str:
    parts = [spec.help] if spec.help else []
    if spec.type is FieldType.CHOICE:
        parts.append(t("intake.hint_options", options="、".join(spec.options)))
    elif spec.type is FieldType.MULTICHOICE:
        parts.append(t("intake.hint_multi", options="、".join(spec.options)))
    elif spec.type is FieldType.DATE:
        parts.append(t("intake.hint_date"))
    elif spec.type is FieldType.DECIMAL:
        parts.append(t("intake.hint_places", places=spec.places))
    elif spec.type is FieldType.INTEGER:
        parts.append(t("intake.hint_integer"))
    if not spec.required:
        parts.append(t("intake.hint_optional"))
    return ";".join(p for p in parts if p)
