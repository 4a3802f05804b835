"""A coordinator's view of one unit: its record across the deadlines due so far, its
people and last activity, and any submission's answers with its files sent again as
documents. Reached from /unit 名称 (报送记录), the per-deadline list and /missing. A
unit's leader (负责人) sees their own unit the same way, read-only: whatever they send."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from conversation.coordinator import is_coordinator
from conversation.events import Press
from conversation.turn import Turn, callback, parse_callback
from conversation.views import deadline_label, show_value, state_label
from domain.status import State
from services.unit_record import RecordLine

RECORD, SUBMISSION = "ur", "us"
PATTERN = rf"^({RECORD}|{SUBMISSION}):"
BUTTONS_PER_RECORD = 10


async def on_button(t: Turn, press: Press) -> None:
    """A coordinator's, or a unit leader's for their own unit (checked per unit)."""
    if not t.actor.leader_seats and not await is_coordinator(t):
        return
    await t.ack()
    payload = parse_callback(press.data)
    if payload is None:
        await t.say(t.t("problem.stale"))
    elif payload.prefix == RECORD:
        await show_record(t, payload.id)
    else:
        await show_submission(t, payload.id)


async def show_record(t: Turn, unit_id: int) -> None:
    record = await t.services.units.record(t.actor, unit_id, t.now)
    if record is None:
        await t.say(t.t("problem.stale"))
        return
    lines = [t.t("unitview.header", unit=record.unit_name, campaign=record.campaign)]
    people = "、".join(f"{name}({t.t(f'role.{role}')})" for name, role in record.people)
    lines.append(t.t("unitview.people", people=people or t.t("units.nobody")))
    if record.last_activity is not None:
        when = t.catalogue.when(
            record.last_activity.astimezone(ZoneInfo(record.timezone)), t.language
        )
        lines.append(t.t("unitview.last_activity", when=when))
    lines.append(
        t.t(
            "unitview.counts",
            on_time=record.count(State.SUBMITTED),
            late=record.count(State.LATE),
            missing=record.count(State.OVERDUE),
            returned=record.count(State.RETURNED),
            exempt=record.count(State.EXEMPT),
            nil=sum(1 for x in record.lines if x.nil and x.state.is_done),
        )
    )
    if not record.lines:
        lines.append(t.t("unitview.nothing_due"))
    buttons: list[tuple[str, str]] = []
    for i, line in enumerate(record.lines, start=1):
        lines.append(f"{i}. {_line(t, line)}")
        if line.submission_id is not None and len(buttons) < BUTTONS_PER_RECORD:
            buttons.append((t.t("unitview.open", n=i), callback(SUBMISSION, line.submission_id)))
    await t.say("\n".join(lines), [buttons[i : i + 5] for i in range(0, len(buttons), 5)])


async def for_leader(t: Turn) -> None:
    """A leader writes anything: their units' records (there is nothing for them to do)."""
    for seat in t.actor.leader_seats:
        if seat.unit_id is not None:
            await show_record(t, seat.unit_id)


def _line(t: Turn, line: RecordLine) -> str:
    text = f"{deadline_label(t, line.deadline)} · {state_label(t, line.state)}"
    if line.revisions > 1:
        text += " · " + t.t("unitview.revisions", count=line.revisions)
    if line.returned:
        text += " · " + t.t("unitview.returned", count=line.returned)
    return text


async def show_submission(t: Turn, submission_id: int) -> None:
    detail = await t.services.units.submission(t.actor, submission_id, t.now)
    if detail is None:
        await t.say(t.t("problem.stale"))
        return
    lines = [
        t.t(
            "unitview.submission",
            unit=detail.unit_name,
            what=deadline_label(t, detail.deadline),
            revision=detail.revision,
        )
    ]
    if detail.nil:
        lines.append(t.t("draft.nil_report"))
    lines += [f"· {spec.label}:{show_value(t, spec, value)}" for spec, value in detail.answers]
    if detail.returned_because:
        lines.append(t.t("unitview.returned_because", comment=detail.returned_because))
    if detail.files:
        lines.append(t.t("unitview.files", count=len(detail.files)))
    await t.say("\n".join(lines))
    for sent in detail.files:
        await t.document(sent.data, sent.name)


def record_button(t: Turn, unit_id: int, unit_name: str) -> tuple[str, str]:
    return t.t("unitview.button", unit=unit_name), callback(RECORD, unit_id)
