"""Coordinators: status, who is missing, nudging them, returning a submission (people and
invitations are in handlers/people.py). Every deadline or submission id from a button is
checked against the campaigns this person coordinates."""

from __future__ import annotations

from conversation.events import Command, Press, Text
from conversation.pictures import STATUS_WINDOW, follow_with_picture
from conversation.turn import Turn, callback, parse_callback, refuse_stranger
from conversation.views import counts_line, deadline_label, deadline_label_in, state_label
from domain.status import OverrideKind
from services.campaign_reads import DeadlineView
from services.coordination import CampaignRef, Reason, UnitLine
from services.overrides import (
    OverrideProblem,
    OverrideRequest,
    OverrideView,
    parse_chat_request,
    parse_until,
)
from services.ports import Address, Button, Delivery
from services.receipts import READ_WINDOW


async def is_coordinator(t: Turn) -> bool:
    """True for a coordinator; anyone else is told why not. A command also abandons a
    pending 退回, whose reason must not be taken from later text."""
    if not t.actor.is_coordinator:
        await t.ack()
        if t.actor.is_known:
            await t.say(t.t("access.coordinators_only"))
        else:
            await refuse_stranger(t)
        return False
    if isinstance(t.event, Command):
        await abandon_review(t)
    return True


async def abandon_review(t: Turn) -> None:
    """Forget a pending 退回: its reason can no longer be taken from later text."""
    await t.services.coordination.abandon_reason(t.actor)


async def campaign_of(t: Turn) -> CampaignRef | None:
    code = t.args[0] if t.args else None
    campaign = await t.services.coordination.campaign(t.actor, code)
    if campaign is None:
        await t.say(t.t("coord.no_campaign"))
    return campaign


async def status(t: Turn) -> None:
    """The counts of the deadlines around now at once; their picture follows from a slow
    job (drawing it is no chat's business)."""
    if not await is_coordinator(t) or (campaign := await campaign_of(t)) is None:
        return
    found = await t.services.board.board(t.actor, campaign.code, t.now, window=STATUS_WINDOW)
    if found is None or not found.board.deadlines:
        await t.say(t.t("coord.no_deadlines", campaign=campaign.name))
        return
    text = [t.t("status.header", campaign=campaign.name)]
    buttons = []
    heads = found.board.deadlines
    for i, (head, counts) in enumerate(zip(heads, found.counts, strict=True), start=1):
        label = t.catalogue.deadline(head.title, head.seq, head.repeats, head.due, t.language)
        text.append(f"{i}. {label}\n   {counts_line(t, counts)}")
        buttons.append((str(i), callback("st", head.deadline_id)))
    text.append(t.t("status.tap"))
    await t.say("\n".join(text), [buttons[i : i + 6] for i in range(0, len(buttons), 6)])
    await follow_with_picture(t, campaign.code)


UNIT_BUTTONS = 8  # units offered as buttons under a list; /unit 名称 reaches any other


def _unit_lines(t: Turn, deadline: DeadlineView, lines: list[UnitLine]) -> str:
    out = [deadline_label(t, deadline)]
    for x in lines:
        at = (
            t.catalogue.when(x.submitted_at.astimezone(deadline.due.tzinfo), t.language)
            if x.submitted_at
            else ""
        )
        nil = " · " + t.t("mine.nil") if x.nil else ""
        if x.extended_to is not None:
            nil += " · " + t.t(
                "exempt.until",
                due=t.catalogue.when(x.extended_to.astimezone(deadline.due.tzinfo), t.language),
            )
        out.append(f"· {x.unit_name}:{state_label(t, x.state)}{nil} {at}".rstrip())
    return "\n".join(out)


async def on_button(t: Turn, press: Press) -> None:
    if not await is_coordinator(t):
        return
    await t.ack()
    payload = parse_callback(press.data)
    coordination = t.services.coordination
    if payload is None:
        await t.say(t.t("problem.stale"))
        return
    if payload.prefix != "rv":
        await abandon_review(t)
    match payload.prefix:
        case "st":
            found = await coordination.units_of_deadline(t.actor, payload.id, t.now)
            if found is None:
                await t.say(t.t("problem.stale"))
                return
            deadline, lines = found
            buttons = [
                [
                    (t.t("button.remind_missing"), callback("rm", payload.id)),
                    (t.t("button.review"), callback("rvl", payload.id)),
                ]
            ]
            sent = [x for x in lines if x.submission_id is not None][:UNIT_BUTTONS]
            seen = [
                (t.t("unitview.see", unit=x.unit_name), callback("us", x.submission_id or 0))
                for x in sent
            ]
            buttons += [seen[i : i + 2] for i in range(0, len(seen), 2)]
            await t.say(_unit_lines(t, deadline, lines), buttons)
        case "rm":
            await _confirm_remind(t, payload.id)
        case "rmok":
            deadline_id = await coordination.take_remind(t.actor, payload.id, t.now)
            if deadline_id is None:  # a second tap, or another process took it first
                await t.say(t.t("remind.taken"))
                return
            await _remind(t, deadline_id)
        case "rvl":
            await _review_list(t, payload.id)
        case "rv":
            await coordination.ask_reason(t.actor, payload.id, t.now)
            await t.say(t.t("review.ask_comment"))
        case _:
            await t.say(t.t("problem.stale"))


async def _current(t: Turn) -> int | None:
    campaign = await campaign_of(t)
    if campaign is None:
        return None
    deadline_id = await t.services.coordination.current_deadline(campaign.id, t.now)
    if deadline_id is None:
        await t.say(t.t("coord.no_deadlines", campaign=campaign.name))
    return deadline_id


async def missing(t: Turn) -> None:
    if not await is_coordinator(t) or (deadline_id := await _current(t)) is None:
        return
    found = await t.services.coordination.missing(t.actor, deadline_id, t.now)
    if found is None:
        return
    deadline, lines = found
    if not lines:
        await t.say(t.t("missing.none", what=deadline_label(t, deadline)))
        return
    unit_ids = [x.unit_id for x in lines]
    await t.services.receipts.refresh(unit_ids, t.now)
    reads = await t.services.receipts.read_by_unit(unit_ids, deadline.due - READ_WINDOW)
    text = t.t("missing.header", what=deadline_label(t, deadline), count=len(lines))
    for x in lines:
        seen = ""
        if x.unit_id in reads:
            seen = t.t("missing.read" if reads[x.unit_id] else "missing.unread")
        text += f"\n· {x.unit_name}({state_label(t, x.state)}{seen})"
    units = [
        (t.t("unitview.button", unit=x.unit_name), callback("ur", x.unit_id))
        for x in lines[:UNIT_BUTTONS]
    ]
    await t.say(
        text,
        [
            [(t.t("button.remind_missing"), callback("rm", deadline_id))],
            *[units[i : i + 2] for i in range(0, len(units), 2)],
        ],
    )


async def remind(t: Turn) -> None:
    if not await is_coordinator(t) or (deadline_id := await _current(t)) is None:
        return
    await _confirm_remind(t, deadline_id)


async def _confirm_remind(t: Turn, deadline_id: int) -> None:
    found = await t.services.coordination.missing(t.actor, deadline_id, t.now)
    if found is None:
        await t.say(t.t("problem.stale"))
        return
    deadline, lines = found
    if not lines:
        await t.say(t.t("missing.none", what=deadline_label(t, deadline)))
        return
    confirmation = await t.services.coordination.offer_remind(t.actor, deadline_id, t.now)
    await t.say(
        t.t("remind.confirm", what=deadline_label(t, deadline), count=len(lines)),
        [
            [
                (t.t("button.remind_go"), callback("rmok", confirmation)),
                (t.t("button.cancel"), callback("st", deadline_id)),
            ]
        ],
    )


async def _remind(t: Turn, deadline_id: int) -> None:
    coordination = t.services.coordination
    found = await coordination.missing(t.actor, deadline_id, t.now)
    if found is None:
        await t.say(t.t("problem.stale"))
        return
    deadline, lines = found
    people = await coordination.recipients([x.unit_id for x in lines])
    languages = await t.services.access.languages_of([p for ids in people.values() for p in ids])
    sent = blocked = elsewhere = 0
    unreachable: list[str] = []
    blocked_units: list[str] = []
    # One by one, not gathered: the rate limiter paces them and a failure stays local.
    for line in lines:
        recipients = people.get(line.unit_id, [])
        if not recipients:
            unreachable.append(line.unit_name)
        for to in recipients:
            outcome = await _notify(
                t,
                to,
                languages.get(to),
                "nudge.manual",
                "button.fill_now",
                deadline,
                unit=line.unit_name,
            )
            sent += outcome is Delivery.SENT
            elsewhere += outcome is Delivery.ELSEWHERE
            if outcome is Delivery.BLOCKED:
                blocked += 1
                if line.unit_name not in blocked_units:
                    blocked_units.append(line.unit_name)
    text = (
        t.t("remind.done_blocked", sent=sent, blocked=blocked)
        if blocked
        else t.t("remind.done", sent=sent)
    )
    if blocked_units:
        text += "\n" + t.t("remind.blocked", units="、".join(blocked_units))
    if unreachable:
        text += "\n" + t.t("remind.unbound", units="、".join(unreachable))
    if elsewhere:
        text += "\n" + t.t("remind.elsewhere", count=elsewhere)
    # Replaces the confirmation, so its button cannot send the nudges a second time.
    await t.edit_or_say(text)


async def _notify(
    t: Turn,
    to: Address,
    language: str | None,
    key: str,
    button: str,
    deadline: DeadlineView,
    **params: str,
) -> Delivery:
    """One message to a liaison, in their language, with a button that opens the form;
    someone who blocked the bot is marked so (⚠ in /units, left out of later nudges)."""
    catalogue, lang = t.catalogue, language or t.services.settings.language
    text = catalogue.text(key, lang, what=deadline_label_in(catalogue, lang, deadline), **params)
    outcome = await t.services.outbox.send(
        to,
        text,
        [[Button(catalogue.text(button, lang), callback("sub", deadline.deadline_id))]],
    )
    if outcome is Delivery.BLOCKED:
        await t.services.access.mark_unreachable(to)
    return outcome


async def review(t: Turn) -> None:
    if not await is_coordinator(t) or (deadline_id := await _current(t)) is None:
        return
    await _review_list(t, deadline_id)


async def _review_list(t: Turn, deadline_id: int) -> None:
    found = await t.services.coordination.units_of_deadline(t.actor, deadline_id, t.now)
    if found is None:
        await t.say(t.t("problem.stale"))
        return
    deadline, lines = found
    done = [x for x in lines if x.submission_id is not None and x.state.is_done]
    if not done:
        await t.say(t.t("review.none", what=deadline_label(t, deadline)))
        return
    buttons = [
        [(t.t("button.return", unit=x.unit_name), callback("rv", x.submission_id or 0))]
        for x in done[:20]
    ]
    await t.say(t.t("review.pick", what=deadline_label(t, deadline)), buttons)


async def on_review_comment(t: Turn, message: Text) -> bool:
    """The text after tapping 退回: the reason sent to the unit. True if it was consumed."""
    if not t.actor.is_coordinator:
        return False
    comment = message.text.strip()[:1000]
    returned = await t.services.coordination.return_with_reason(t.actor, comment, t.now)
    if returned is Reason.NONE_PENDING:
        return False
    if returned is Reason.EMPTY:
        await t.say(t.t("review.ask_comment"))
        return True
    if isinstance(returned, Reason):
        await t.say(t.t("problem.stale"))
        return True
    languages = await t.services.access.languages_of(list(returned.recipients))
    notified = 0
    for to in returned.recipients:
        outcome = await _notify(
            t,
            to,
            languages.get(to),
            "review.notice",
            "button.fix_now",
            returned.deadline,
            comment=comment,
        )
        notified += outcome is Delivery.SENT
    await t.say(
        t.t(
            "review.done",
            unit=returned.deadline.unit_name,
            what=deadline_label(t, returned.deadline),
            notified=notified,
        )
    )
    return True


# ---- 免报 / 延期 per unit -------------------------------------------------------------------

_EXEMPT_KEY = "exempt_request"


async def exempt(t: Turn) -> None:
    """`/exempt 单位 [YYYY-MM-DD [HH:MM]] 理由`: 免报, or with a time 延期 to it; the deadline
    is picked from the unit's open ones, then confirmed."""
    if not await is_coordinator(t):
        return
    asked = parse_chat_request(list(t.args))
    if asked is None or isinstance(asked, OverrideProblem):
        await t.say(t.t("exempt.usage") if asked is None else _problem(t, asked))
        return
    unit = await t.services.overrides.find_unit(t.actor, asked.unit)
    if isinstance(unit, OverrideProblem):
        await t.say(_problem(t, unit, unit=asked.unit))
        return
    choices = await t.services.overrides.choices(t.actor, unit.id, t.now)
    if not choices:
        await t.say(t.t("exempt.no_choices", unit=unit.name))
        return
    # The request waits here for the deadline button; a newer /exempt replaces it.
    steps = t.services.steps
    previous = await steps.get(t.actor.person_id, _EXEMPT_KEY) or {}
    serial = int(previous.get("serial", 0)) + 1
    await steps.put(
        t.actor.person_id,
        _EXEMPT_KEY,
        {"serial": serial, "unit_id": unit.id, "until": asked.until, "reason": asked.reason},
        t.now,
    )
    buttons = [
        [
            (
                f"{deadline_label(t, v)} · {state_label(t, v.state)}",
                callback("exd", v.deadline_id, str(serial)),
            )
        ]
        for v in choices
    ]
    key = "exempt.pick_extended" if asked.until else "exempt.pick_exempt"
    await t.say(t.t(key, unit=unit.name), buttons)


async def unexempt(t: Turn) -> None:
    """`/unexempt 单位`: pick one of the unit's 免报 / 延期 to withdraw, then confirm."""
    if not await is_coordinator(t):
        return
    if not t.args:
        await t.say(t.t("exempt.undo_usage"))
        return
    name = " ".join(t.args)
    unit = await t.services.overrides.find_unit(t.actor, name)
    if isinstance(unit, OverrideProblem):
        await t.say(_problem(t, unit, unit=name))
        return
    standing = await t.services.overrides.standing(t.actor, unit.id, t.now)
    if not standing:
        await t.say(t.t("exempt.none_standing", unit=unit.name))
        return
    buttons = [[(_override_label(t, x), callback("exu", x.override_id))] for x in standing]
    await t.say(t.t("exempt.undo_pick", unit=unit.name), buttons)


async def on_exempt_button(t: Turn, press: Press) -> None:
    if not await is_coordinator(t):
        return
    await t.ack()
    await abandon_review(t)
    payload = parse_callback(press.data)
    if payload is None:
        await t.say(t.t("problem.stale"))
    elif payload.prefix == "exu":
        await t.say(
            t.t("exempt.undo_confirm"),
            [
                [
                    (t.t("button.exempt_undo"), callback("exuok", payload.id)),
                    (t.t("button.cancel"), callback("exx", payload.id)),
                ]
            ],
        )
    elif payload.prefix == "exuok":
        await _undo_exception(t, payload.id)
    elif payload.prefix == "exx":
        await t.edit_or_say(t.t("exempt.cancelled"))
    elif (request := await _exempt_request(t, payload.id, payload.field)) is None:
        await t.say(t.t("problem.stale"))
    elif payload.prefix == "exd":
        await _confirm_exception(t, request, payload.field or "")
    elif payload.prefix == "exok":
        await _set_exception(t, request)
    else:
        await t.say(t.t("problem.stale"))


async def _confirm_exception(t: Turn, request: OverrideRequest, serial: str) -> None:
    found = await t.services.overrides.check(t.actor, request, t.now)
    if isinstance(found, OverrideProblem):
        await t.say(_problem(t, found))
        return
    await t.say(
        t.t(
            f"exempt.confirm_{found.kind.value}",
            unit=found.deadline.unit_name,
            what=deadline_label(t, found.deadline),
            reason=found.reason,
        ),
        [
            [
                (t.t("button.exempt_go"), callback("exok", request.deadline_id, serial)),
                (t.t("button.cancel"), callback("exx", request.deadline_id)),
            ]
        ],
    )


async def _set_exception(t: Turn, request: OverrideRequest) -> None:
    done = await t.services.overrides.apply(t.actor, request, t.now)
    if isinstance(done, OverrideProblem):
        await t.edit_or_say(_problem(t, done))
        return
    key = f"exempt.done_{done.kind.value}" if done.changed else "exempt.already"
    # Replaces the confirmation, so its button does not stay there to be tapped again.
    await t.edit_or_say(
        t.t(
            key,
            unit=done.deadline.unit_name,
            what=deadline_label(t, done.deadline),
            reason=done.reason,
        )
    )


async def _undo_exception(t: Turn, override_id: int) -> None:
    undone = await t.services.overrides.undo(t.actor, override_id, t.now)
    if isinstance(undone, OverrideProblem):
        await t.edit_or_say(_problem(t, undone))
        return
    key = "exempt.undone" if undone.changed else "exempt.already_undone"
    await t.edit_or_say(
        t.t(key, unit=undone.deadline.unit_name, what=deadline_label(t, undone.deadline))
    )


async def _exempt_request(t: Turn, deadline_id: int, serial: str | None) -> OverrideRequest | None:
    """The /exempt request a button belongs to; None if a newer one replaced it."""
    stored = await t.services.steps.get(t.actor.person_id, _EXEMPT_KEY)
    if not isinstance(stored, dict) or serial != str(stored.get("serial")):
        return None
    until = parse_until(stored["until"]) if stored.get("until") else None
    kind = OverrideKind.EXTENDED if until is not None else OverrideKind.EXEMPT
    return OverrideRequest(stored["unit_id"], deadline_id, kind, until, stored["reason"])


def _override_label(t: Turn, x: OverrideView) -> str:
    if x.kind is OverrideKind.EXEMPT:
        return t.t("exempt.label_exempt", what=deadline_label(t, x.deadline))
    return t.t(
        "exempt.label_extended",
        what=deadline_label(t, x.deadline),
        due=t.catalogue.when(x.original_due, t.language),
    )


def _problem(t: Turn, problem: OverrideProblem, **params: str) -> str:
    return t.t(f"exempt.problem_{problem.value}", **{"unit": "", "deadline": "", **params})
