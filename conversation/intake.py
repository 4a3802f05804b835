"""Filling a form from cuibao's 指标/数值 blank: /blank hands it out, and `try_workbook`
is the hook for the liaison's file handler (an .xlsx that is a blank fills the draft;
any other file goes on to be attached as before)."""

from __future__ import annotations

from conversation.turn import Turn, refuse_stranger
from conversation.views import asks_typed_answer, draft_prompt
from services.intake import Filled, Refused
from services.reports import DraftView

BLANK_EXTENSION = ".xlsx"


def is_workbook(name: str | None) -> bool:
    return bool(name) and str(name).lower().endswith(BLANK_EXTENSION)


async def blank(t: Turn) -> None:
    """/blank: the blank of the form being filled in, prefilled with its answers."""
    if not t.actor.unit_seats:
        if t.actor.is_coordinator:
            await t.say(t.t("access.not_a_liaison"))
        else:
            await refuse_stranger(t)
        return
    draft = await t.services.reports.on_screen(t.actor, t.now)
    if draft is None:
        await t.say(t.t("intake.not_found"))
        return
    made = await t.services.intake.blank(t.actor, draft.draft_id, t.catalogue, t.language)
    if isinstance(made, Refused):
        await t.say(refusal_text(t, made))
        return
    await t.document(made.data, made.file_name, t.t("intake.blank_caption"))


async def try_workbook(t: Turn, draft: DraftView, data: bytes) -> bool:
    """For the liaison's file handler, with an .xlsx already downloaded: read it as a
    blank into the open draft. True when handled (filled, or refused with a message);
    False when it is not a blank, so the caller attaches it like any other file."""
    outcome = await t.services.intake.fill(t.actor, draft.draft_id, data, t.now)
    # Where the form takes attachments, a sound workbook that is not one of our blanks is
    # simply an attachment; a damaged, locked or macro-laden one is refused either way.
    if (
        isinstance(outcome, Refused)
        and outcome.code == "read.not_a_blank"
        and draft.form.file_fields
    ):
        return False
    if isinstance(outcome, Refused):
        await t.say(refusal_text(t, outcome))
        return True
    await t.say(filled_text(t, outcome))
    resumed = await t.services.reports.present(t.actor, draft.draft_id, t.now)
    if isinstance(resumed, DraftView):
        settings = t.services.settings
        text, buttons = draft_prompt(t, resumed, settings.max_file_mb, settings.file_extensions)
        await t.say(text, buttons, typed_answer=asks_typed_answer(resumed))
    return True


def filled_text(t: Turn, filled: Filled) -> str:
    return t.t("intake.filled", answered=filled.answered, skipped=filled.skipped)


def refusal_text(t: Turn, refused: Refused) -> str:
    """The refusal, and for invalid values one line per value with the same message a
    typed answer would have got."""
    lines = [t.t(f"intake.{refused.code}", **refused.params)]
    for p in refused.problems:
        problem = t.t(f"invalid.{p.invalid.code}", **p.invalid.params)
        if p.row:
            lines.append(
                t.t(
                    "intake.invalid_line", label=p.label, row=p.row, value=p.value, problem=problem
                )
            )
        else:
            lines.append(t.t("intake.missing_line", label=p.label, problem=problem))
    return "\n".join(lines)
