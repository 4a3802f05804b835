"""Liaison officers: what is due, filling a form with files, history.

The draft in the database is the conversation state: whatever the liaison sends next is
the answer to the question the draft is waiting for, so a restart loses nothing.
"""

from __future__ import annotations

from conversation import intake
from conversation.events import FileArrived, Press, Text
from conversation.turn import Payload, Turn, callback, parse_callback, refuse_stranger
from conversation.views import (
    asks_typed_answer,
    deadline_label,
    draft_prompt,
    remove_question,
    superseded,
    task_list,
)
from services.reports import DraftView, Problem, Rejected, Submitted, Superseded


async def is_liaison(t: Turn) -> bool:
    """True for someone who holds a unit's seat; anyone else is told why not."""
    if t.actor.unit_seats:
        return True
    await t.ack()
    if t.actor.is_coordinator:
        await t.say(t.t("access.not_a_liaison"))
    else:
        await refuse_stranger(t)
    return False


async def tasks(t: Turn) -> None:
    if not await is_liaison(t):
        return
    text, buttons = task_list(t, await t.services.reports.tasks(t.actor, t.now))
    await t.say(text, buttons)


SUBMIT_BUTTONS = 10  # a page of the /submit menu; 更多 shows the next


async def submit(t: Turn, start: int = 0) -> None:
    if not await is_liaison(t):
        return
    draft, choices = await t.services.reports.submit_menu(t.actor, t.now)
    if not choices and draft is None:
        await t.say(t.t("submit.nothing"))
        return
    buttons = []
    if draft is not None and start == 0:
        label = t.t("button.resume", what=deadline_label(t, draft.deadline))
        buttons.append([(label, callback("sub", draft.deadline.deadline_id))])
    page = choices[start : start + SUBMIT_BUTTONS]
    buttons += [
        [
            (
                deadline_label(t, v) + f" · {t.t('state.' + v.state.value)}",
                callback("sub", v.deadline_id),
            )
        ]
        for v in page
    ]
    if len(choices) > start + SUBMIT_BUTTONS:
        buttons.append([(t.t("button.more"), callback("sm", start + SUBMIT_BUTTONS))])
    await t.say(t.t("submit.pick"), buttons)


async def history(t: Turn) -> None:
    if not await is_liaison(t):
        return
    items = await t.services.reports.history(t.actor, t.now)
    if not items:
        await t.say(t.t("mine.none"))
        return
    lines = [t.t("mine.header")]
    for item in items:
        flags = [t.t("mine.late")] if item.late else []
        flags += [t.t("mine.nil")] if item.nil else []
        flags += [t.t("state.returned")] if item.returned else []
        lines.append(
            t.t(
                "mine.line",
                what=deadline_label(t, item.deadline),
                revision=item.revision,
                at=t.catalogue.when(
                    item.submitted_at.astimezone(item.deadline.due.tzinfo), t.language
                ),
                flags=(" · " + "、".join(flags)) if flags else "",
            )
        )
    await t.say("\n".join(lines))


async def show(t: Turn, result: DraftView | Rejected | Problem, edit: bool = False) -> None:
    """Answer with the draft's next question, the validation message, or the problem."""
    settings = t.services.settings
    if isinstance(result, Problem):
        await t.say(
            t.t(
                f"problem.{result.value}",
                max_mb=settings.max_file_mb,
                types="/".join(settings.file_extensions),
            )
        )
        return
    if isinstance(result, Rejected):
        invalid = result.invalid
        await t.say(t.t(f"invalid.{invalid.code}", **invalid.params))
        result = result.draft
    text, buttons = draft_prompt(t, result, settings.max_file_mb, settings.file_extensions)
    typed = asks_typed_answer(result)
    if edit:
        await t.edit_or_say(text, buttons, typed_answer=typed)
    else:
        await t.say(text, buttons, typed_answer=typed)


async def on_button(t: Turn, press: Press) -> None:
    """Every button of the submit flow; the payload is parsed and checked again here."""
    if not await is_liaison(t):
        return
    payload = parse_callback(press.data)
    await t.ack()
    if payload is None:
        await t.say(t.t("problem.stale"))
        return
    reports, actor, now = t.services.reports, t.actor, t.now
    match payload.prefix:
        case "tm":  # the next page of the task list's buttons
            text, buttons = task_list(t, await reports.tasks(actor, now), payload.id)
            await t.edit_or_say(text, buttons)
        case "sm":  # the next page of /submit
            await submit(t, payload.id)
        case "sub":
            await show(t, await reports.begin(actor, payload.id, now))
        case "ch" if payload.field is not None and payload.index is not None:
            await show(
                t, await reports.choose(actor, payload.id, payload.field, payload.index, now)
            )
        case "sk" if payload.field is not None:
            await show(t, await reports.skip(actor, payload.id, payload.field, now))
        case "nil":
            # 零报告 is one tap: marked and submitted at once, acknowledged after the commit.
            await _confirm(t, payload.id, built_on(payload), nil=True)
        case "fd":
            await show(t, await reports.files_done(actor, payload.id, now))
        case "ed" if payload.field is not None:
            await show(t, await reports.edit(actor, payload.id, payload.field, now))
        case "ok":
            await _confirm(t, payload.id, built_on(payload))
        case "rb":
            await show(t, await reports.rebase(actor, payload.id, now))
        case "vw":
            await show(t, await reports.present(actor, payload.id, now))
        case "del" if payload.field is not None and payload.field.isdigit():
            found = await reports.attachment(actor, payload.id, int(payload.field))
            if isinstance(found, Problem):
                await show(t, found)
            else:
                await t.say(*remove_question(t, payload.id, found))
        case "delok" if payload.field is not None and payload.field.isdigit():
            removed = await reports.detach(actor, payload.id, int(payload.field), now)
            if isinstance(removed, Problem):
                await show(t, removed)
                return
            await t.edit_or_say(t.t("attachment.removed", name=removed.name))
            await show(t, removed.draft)
        case "x":
            done = await reports.discard(actor, payload.id)
            await t.edit_or_say(t.t("draft.discarded" if done else "problem.stale"))
        case _:
            await t.say(t.t("problem.stale"))


def built_on(payload: Payload) -> int | None:
    """The revision a confirm button's preview was built on (None: a button from before
    confirms named it, refused as stale)."""
    return int(payload.field) if payload.field and payload.field.isdigit() else None


async def _confirm(t: Turn, draft_id: int, built_on: int | None, nil: bool = False) -> None:
    if built_on is None:
        await t.say(t.t("problem.stale"))
        return
    result = await t.services.reports.submit(t.actor, draft_id, t.now, built_on, nil)
    if isinstance(result, Superseded):  # nothing written: the unit has a newer revision
        await t.say(*superseded(t, result))
        return
    if not isinstance(result, Submitted):
        await t.say(
            t.t("problem.stale" if result is Problem.NOT_FOUND else f"problem.{result.value}")
        )
        return
    # Said only now: the submission is committed.
    key = "submitted.nil" if result.nil else ("submitted.late" if result.late else "submitted.ok")
    files = t.t("submitted.files", count=result.attachments) if result.attachments else ""
    await t.edit_or_say(
        t.t(key, what=deadline_label(t, result.deadline), revision=result.revision, files=files)
    )


async def on_text(t: Turn, message: Text) -> None:
    """A typed answer to the current question of the liaison's draft."""
    if not await is_liaison(t):
        return
    text = message.text
    # The answer is for the question last shown: found and updated in one go.
    result = await t.services.reports.answer(t.actor, None, text, t.now)
    if result is None:
        await t.say(t.t("draft.no_draft"))
        return
    await show(t, result)


async def on_file(t: Turn, file: FileArrived) -> None:
    """A document or photo sent while a draft is open: checked first, then stored."""
    if not await is_liaison(t):
        return
    reports = t.services.reports
    draft = await reports.on_screen(t.actor, t.now)
    if draft is None:
        await t.say(t.t("draft.no_draft"))
        return
    name, size, mime = file.name, file.size, file.mime
    data: bytes | None = None
    if intake.is_workbook(name):
        # A filled-in blank (/blank) answers the whole form at once.
        if size and size > reports.limits.max_bytes:
            await show(t, Problem.FILE_TOO_LARGE)
            return
        data = await _download(t, file)
        if await intake.try_workbook(t, draft, data):
            return
    if not draft.form.file_fields:  # said before downloading anything else
        await show(t, Problem.NO_FILES)
        return
    problem = reports.check_upload(name, size)
    if problem is not None:
        await show(t, problem)
        return
    if data is None:
        data = await _download(t, file)
    await show(t, await reports.attach(t.actor, draft.draft_id, name, mime, data, t.now))


async def _download(t: Turn, file: FileArrived) -> bytes:
    await t.busy()
    return await file.fetch()
