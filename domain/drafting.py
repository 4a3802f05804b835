"""Filling a form step by step: which question comes next, as a pure function of the draft."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from domain.forms import Answer, Form

FILES_STEP = "files"
PREVIEW_STEP = "preview"


@dataclass(frozen=True)
class DraftState:
    """What the database keeps of a half-filled form (JSON-able)."""

    answers: dict[str, Answer] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    nil: bool = False
    files_done: bool = False
    editing: str | None = None  # a field reopened from the preview
    # The unit's newest revision when the draft was begun (0: none), so a confirm can tell
    # whether someone else has submitted since; None for drafts older than this field.
    base: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "skipped": list(self.skipped),
            "nil": self.nil,
            "files_done": self.files_done,
            "editing": self.editing,
            "base": self.base,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DraftState:
        base = data.get("base")
        return cls(
            answers=dict(data.get("answers", {})),
            skipped=tuple(data.get("skipped", ())),
            nil=bool(data.get("nil", False)),
            files_done=bool(data.get("files_done")),
            editing=data.get("editing"),
            base=base if isinstance(base, int) else None,
        )

    def answered(self, field_id: str, value: Answer) -> DraftState:
        answers = {**self.answers, field_id: value}
        skipped = tuple(s for s in self.skipped if s != field_id)
        if value is None:
            skipped = (*skipped, field_id)
        return replace(self, answers=answers, skipped=skipped, editing=None)


def next_step(form: Form, state: DraftState) -> str:
    """The id of the field to ask next, FILES_STEP, or PREVIEW_STEP when all is answered."""
    if state.nil:
        return PREVIEW_STEP
    if state.editing is not None:
        return state.editing
    for f in form.typed_fields:
        if f.id not in state.answers and f.id not in state.skipped:
            return f.id
    if form.file_fields and not state.files_done:
        return FILES_STEP
    return PREVIEW_STEP


def progress(form: Form, state: DraftState) -> tuple[int, int]:
    """(answered, total) typed questions, for a "3/8" hint on each prompt."""
    typed = form.typed_fields
    done = sum(1 for f in typed if f.id in state.answers or f.id in state.skipped)
    return done, len(typed)
