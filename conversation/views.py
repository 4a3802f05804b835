"""How deadlines, drafts and statuses read in the chat (texts from the catalogue)."""

from __future__ import annotations

from collections.abc import Sequence

from conversation.i18n import Catalogue
from conversation.turn import Turn, callback
from domain.drafting import FILES_STEP, PREVIEW_STEP, progress
from domain.forms import Answer, Field, FieldType
from domain.status import Counts, State
from services.campaign_reads import DeadlineView
from services.reports import AttachmentView, DraftView, Superseded

Buttons = list[list[tuple[str, str]]]

# A preview is one message with its buttons: long answers (two 4000-character
# 经验做法/典型案例) are shown in part, so it stays readable and within Telegram's limit.
PREVIEW_VALUE_CHARS = 300


def deadline_label(t: Turn, d: DeadlineView) -> str:
    return deadline_label_in(t.catalogue, t.language, d)


def deadline_label_in(catalogue: Catalogue, language: str, d: DeadlineView) -> str:
    """The label in someone else's language (a nudge, a notice of return)."""
    return catalogue.deadline(d.title, d.seq, d.repeats, d.due, language)


def period_label(t: Turn, d: DeadlineView) -> str:
    if d.period is None:
        return ""
    return t.t(
        "deadline.period",
        start=t.catalogue.date(d.period[0], t.language),
        end=t.catalogue.date(d.period[1], t.language),
    )


def state_label(t: Turn, state: State) -> str:
    return t.t(f"state.{state.value}")


TASK_BUTTONS = 8  # a page of 填报 buttons; 更多 shows the next


def task_list(t: Turn, views: Sequence[DeadlineView], start: int = 0) -> tuple[str, Buttons]:
    """Every open item in the text; a page of buttons from `start`, then 更多."""
    if not views:
        return t.t("tasks.none"), []
    lines = [t.t("tasks.header")]
    buttons: Buttons = []
    for i, v in enumerate(views, start=1):
        line = f"{i}. {deadline_label(t, v)} · {state_label(t, v.state)}"
        if v.extended:
            line += " · " + t.t("exempt.extended_mark")
        if v.comment:
            line += "\n   " + t.t("tasks.returned_because", comment=v.comment)
        lines.append(line)
        if start < i <= start + TASK_BUTTONS:
            buttons.append([(t.t("button.fill", n=i), callback("sub", v.deadline_id))])
    if len(views) > start + TASK_BUTTONS:
        buttons.append([(t.t("button.more"), callback("tm", start + TASK_BUTTONS))])
    return "\n".join(lines), buttons


def show_value(t: Turn, spec: Field, value: Answer) -> str:
    if value is None:
        return t.t("draft.empty_value")
    if isinstance(value, list):
        return "、".join(value)
    text = str(value)
    if spec.is_numeric and spec.unit:
        text += f" {spec.unit}"
    return text


def _prompt_header(t: Turn, draft: DraftView) -> str:
    header = deadline_label(t, draft.deadline)
    period = period_label(t, draft.deadline)
    # The form's title only where it says something the item's does not.
    form, item = draft.form.title, draft.deadline.title
    lead = "" if form in item or item in form else f"【{form}】"
    return f"{lead}{header}" + (f"\n{period}" if period else "")


def draft_prompt(
    t: Turn, draft: DraftView, max_mb: int, extensions: Sequence[str]
) -> tuple[str, Buttons]:
    """The question a draft is waiting for, with its buttons."""
    did = draft.draft_id
    cancel = [(t.t("button.cancel"), callback("x", did))]
    nil = (
        [(t.t("button.nil"), callback("nil", did, str(draft.built_on)))]
        if draft.form.allow_nil and draft.step != PREVIEW_STEP
        else []
    )
    if draft.step == PREVIEW_STEP:
        return preview(t, draft)
    if draft.step == FILES_STEP:
        names = "\n".join(f"  · {a.name} ({_size(a.size)})" for a in draft.attachments)
        text = "\n".join(
            filter(
                None,
                [
                    _prompt_header(t, draft),
                    t.t("draft.ask_files", types="/".join(extensions), max_mb=max_mb),
                    t.t("draft.files_so_far", names=names) if names else "",
                ],
            )
        )
        return text, [
            [(t.t("button.files_done"), callback("fd", did))],
            *_remove_buttons(t, draft),
            cancel,
        ]
    spec = draft.form.field(draft.step)
    done, total = progress(draft.form, draft.state)
    # The question's own place in the form: reopened from the preview it is not "done + 1".
    number = draft.form.typed_fields.index(spec) + 1
    lines = [
        _prompt_header(t, draft),
        t.t("draft.ask", n=number, total=total, label=spec.label)
        + (f"({spec.unit})" if spec.unit else ""),
    ]
    if spec.help:
        lines.append(t.t("draft.help", help=spec.help))
    lines.append(t.t(f"draft.hint.{spec.type.value}", places=spec.places, max=spec.text_limit))
    buttons: Buttons = []
    if spec.type is FieldType.CHOICE:
        buttons += [[(o, callback("ch", did, spec.id, i))] for i, o in enumerate(spec.options)]
    elif spec.type is FieldType.MULTICHOICE:
        lines += [f"  {i}. {o}" for i, o in enumerate(spec.options, start=1)]
    if not spec.required:
        buttons.append([(t.t("button.skip"), callback("sk", did, spec.id))])
    if nil and done == 0:
        buttons.append(nil)
    buttons.append(cancel)
    return "\n".join(lines), buttons


def asks_typed_answer(draft: DraftView) -> bool:
    """The draft's prompt waits for a typed answer (a number, a date, a text), so a bare
    number typed next is that answer."""
    if draft.step in (PREVIEW_STEP, FILES_STEP):
        return False
    return draft.form.field(draft.step).type is not FieldType.CHOICE


def preview(t: Turn, draft: DraftView) -> tuple[str, Buttons]:
    did = draft.draft_id
    lines = [_prompt_header(t, draft), t.t("draft.preview")]
    if draft.state.nil:
        lines.append(t.t("draft.nil_report"))
    else:
        for spec in draft.form.typed_fields:
            value = show_value(t, spec, draft.state.answers.get(spec.id))
            if len(value) > PREVIEW_VALUE_CHARS:  # stored in full; shown in part
                value = value[:PREVIEW_VALUE_CHARS] + t.t("draft.clipped", length=len(value))
            lines.append(f"· {spec.label}:{value}")
        for a in draft.attachments:
            lines.append(f"· 📎 {a.name} ({_size(a.size)})")
    if draft.deadline.revision:
        lines.append(t.t("draft.new_revision", revision=draft.deadline.revision + 1))
        if draft.form.file_fields and not draft.attachments and not draft.state.nil:
            lines.append(t.t("draft.no_files_carried"))
    if draft.built_on != (draft.deadline.revision or 0):
        # Someone else submitted while this was being filled: said now, refused on confirm.
        lines.append(t.t("draft.newer_revision", revision=draft.deadline.revision))
    # The confirm names the revision the preview was built on (see `superseded`).
    built_on = str(draft.built_on)
    buttons: Buttons = [[(t.t("button.confirm"), callback("ok", did, built_on))]]
    if not draft.state.nil:
        edits = [
            (t.t("button.edit_field", label=spec.label[:14]), callback("ed", did, spec.id))
            for spec in draft.form.typed_fields
        ]
        buttons += [edits[i : i + 2] for i in range(0, len(edits), 2)]
        if draft.form.file_fields:
            buttons.append([(t.t("button.edit_files"), callback("ed", did, "files"))])
        buttons += _remove_buttons(t, draft)
        if draft.form.allow_nil and draft.deadline.revision:
            # A corrected report opens on the old answers; 零报告 must stay one tap away.
            buttons.append([(t.t("button.nil"), callback("nil", did, built_on))])
    buttons.append([(t.t("button.cancel"), callback("x", did))])
    return "\n".join(lines), buttons


# A file's name on its remove button is cut to this many characters (a phone's width).
BUTTON_NAME_CHARS = 24


def _remove_buttons(t: Turn, draft: DraftView) -> Buttons:
    """One button per attachment, to remove a wrong one (after a confirmation)."""
    return [
        [
            (
                t.t("button.remove_file", name=_short(a.name)),
                callback("del", draft.draft_id, str(a.id)),
            )
        ]
        for a in draft.attachments
    ]


def remove_question(t: Turn, draft_id: int, attachment: AttachmentView) -> tuple[str, Buttons]:
    return t.t("attachment.remove_ask", name=attachment.name), [
        [(t.t("button.remove_confirm"), callback("delok", draft_id, str(attachment.id)))],
        [(t.t("button.keep_file"), callback("vw", draft_id))],
    ]


def _short(name: str) -> str:
    return name if len(name) <= BUTTON_NAME_CHARS else name[: BUTTON_NAME_CHARS - 1] + "…"


def superseded(t: Turn, refused: Superseded) -> tuple[str, Buttons]:
    """A confirm refused because the unit has a newer revision: what that revision holds
    that the draft does not, and the two ways on (its content, or the draft's anyway)."""
    draft, revision = refused.draft, refused.revision
    at = t.catalogue.when(refused.at.astimezone(draft.deadline.due.tzinfo), t.language)
    lines = [
        t.t(
            "superseded.header",
            what=deadline_label(t, draft.deadline),
            revision=revision,
            by=refused.by or "-",
            at=at,
        )
    ]
    if refused.nil:
        lines.append(t.t("superseded.was_nil", revision=revision))
    if refused.changes:
        lines.append(t.t("superseded.changes", revision=revision))
        lines += [
            t.t(
                "superseded.change",
                label=c.field.label,
                revision=revision,
                theirs=show_value(t, c.field, c.theirs)[:PREVIEW_VALUE_CHARS],
                mine=show_value(t, c.field, c.mine)[:PREVIEW_VALUE_CHARS],
            )
            for c in refused.changes
        ]
    lines.append(t.t("superseded.what_now", revision=revision, next=revision + 1))
    did, again = draft.draft_id, "nil" if refused.mine_nil else "ok"
    return "\n".join(lines), [
        [(t.t("button.take_newer", revision=revision), callback("rb", did))],
        [
            (
                t.t(
                    "button.nil_anyway" if refused.mine_nil else "button.submit_anyway",
                    next=revision + 1,
                ),
                callback(again, did, str(revision)),
            )
        ],
        [(t.t("button.cancel"), callback("x", did))],
    ]


def counts_line(t: Turn, c: Counts) -> str:
    line = t.t(
        "status.counts",
        expected=c.expected,
        done=c.done,
        late=c.late,
        nil=c.nil,
        returned=c.returned,
        missing=c.missing,
    )
    if c.exempt or c.extended:
        line += " " + t.t("exempt.counts", exempt=c.exempt, extended=c.extended)
    return line


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(1, size // 1024)} KB"
