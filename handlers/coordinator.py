"""Coordinators: status, who is missing, nudging them, returning a submission, units,
invitations. Every deadline or submission id from a button is checked against the
campaigns this person coordinates."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import Update
from telegram.ext import filters

from bot.context import CustomContext
from handlers.common import Turn, answer_query, callback, parse_callback, refuse_stranger, turn
from handlers.pictures import send_status_picture
from handlers.views import counts_line, deadline_label, deadline_label_in, state_label
from services.catalog import DeadlineView
from services.coordination import CampaignRef, UnitLine
from services.ports import Button, Delivery

_REVIEW_KEY = "review_submission"
_REVIEW_AT = "review_asked_at"
# How long the text after tapping 退回 is taken as the reason. Any other command or button
# abandons the 退回, so a later text (a pasted notice, say) never reaches a unit by mistake.
REVIEW_WAIT = timedelta(minutes=30)


async def _coordinator(update: Update, context: CustomContext) -> Turn | None:
    t = await turn(update, context)
    if t is None:
        return None
    if not t.actor.is_coordinator:
        await answer_query(update)
        if t.actor.is_known:
            await t.say(t.t("access.coordinators_only"))
        else:
            await refuse_stranger(t)
        return None
    if filters.COMMAND.check_update(update):
        abandon_review(context)
    return t


def abandon_review(context: CustomContext) -> None:
    """Forget a pending 退回: its reason can no longer be taken from later text."""
    if context.user_data is not None:
        context.user_data.pop(_REVIEW_KEY, None)
        context.user_data.pop(_REVIEW_AT, None)


async def _campaign(t: Turn) -> CampaignRef | None:
    code = t.context.args[0] if t.context.args else None
    campaign = await t.services.coordination.campaign(t.actor, code)
    if campaign is None:
        await t.say(t.t("coord.no_campaign"))
    return campaign


async def status(update: Update, context: CustomContext) -> None:
    t = await _coordinator(update, context)
    if t is None or (campaign := await _campaign(t)) is None:
        return
    lines = await t.services.coordination.overview(campaign.id, t.now)
    if not lines:
        await t.say(t.t("coord.no_deadlines", campaign=campaign.name))
        return
    text = [t.t("status.header", campaign=campaign.name)]
    buttons = []
    for i, line in enumerate(lines, start=1):
        text.append(f"{i}. {deadline_label(t, line.deadline)}\n   {counts_line(t, line.counts)}")
        buttons.append((str(i), callback("st", line.deadline.deadline_id)))
    text.append(t.t("status.tap"))
    await t.say("\n".join(text), [buttons[i:i + 6] for i in range(0, len(buttons), 6)])
    await send_status_picture(t, campaign.code)


def _unit_lines(t: Turn, deadline: DeadlineView, lines: list[UnitLine]) -> str:
    out = [deadline_label(t, deadline)]
    for x in lines:
        at = (t.catalogue.when(x.submitted_at.astimezone(deadline.due.tzinfo), t.language)
              if x.submitted_at else "")
        nil = " · " + t.t("mine.nil") if x.nil else ""
        out.append(f"· {x.unit_name}:{state_label(t, x.state)}{nil} {at}".rstrip())
    return "\n".join(out)


async def on_button(update: Update, context: CustomContext) -> None:
    query = update.callback_query
    assert query is not None
    t = await _coordinator(update, context)
    if t is None:
        return
    await query.answer()
    payload = parse_callback(query.data)
    coordination = t.services.coordination
    if payload is None:
        await t.say(t.t("problem.stale"))
        return
    abandon_review(context)
    match payload.prefix:
        case "st":
            found = await coordination.units_of_deadline(t.actor, payload.id, t.now)
            if found is None:
                await t.say(t.t("problem.stale"))
                return
            deadline, lines = found
            buttons = [[(t.t("button.remind_missing"), callback("rm", payload.id)),
                        (t.t("button.review"), callback("rvl", payload.id))]]
            await t.say(_unit_lines(t, deadline, lines), buttons)
        case "rm":
            await _confirm_remind(t, payload.id)
        case "rmok":
            await _remind(t, payload.id)
        case "rvl":
            await _review_list(t, payload.id)
        case "rv" if context.user_data is not None:
            context.user_data[_REVIEW_KEY] = payload.id
            context.user_data[_REVIEW_AT] = t.now
            await t.say(t.t("review.ask_comment"))
        case _:
            await t.say(t.t("problem.stale"))


async def _current(t: Turn) -> int | None:
    campaign = await _campaign(t)
    if campaign is None:
        return None
    deadline_id = await t.services.coordination.current_deadline(campaign.id, t.now)
    if deadline_id is None:
        await t.say(t.t("coord.no_deadlines", campaign=campaign.name))
    return deadline_id


async def missing(update: Update, context: CustomContext) -> None:
    t = await _coordinator(update, context)
    if t is None or (deadline_id := await _current(t)) is None:
        return
    found = await t.services.coordination.missing(t.actor, deadline_id, t.now)
    if found is None:
        return
    deadline, lines = found
    if not lines:
        await t.say(t.t("missing.none", what=deadline_label(t, deadline)))
        return
    text = t.t("missing.header", what=deadline_label(t, deadline), count=len(lines))
    text += "\n" + "\n".join(f"· {x.unit_name}({state_label(t, x.state)})" for x in lines)
    await t.say(text, [[(t.t("button.remind_missing"), callback("rm", deadline_id))]])


async def remind(update: Update, context: CustomContext) -> None:
    t = await _coordinator(update, context)
    if t is None or (deadline_id := await _current(t)) is None:
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
    await t.say(t.t("remind.confirm", what=deadline_label(t, deadline), count=len(lines)),
                [[(t.t("button.remind_go"), callback("rmok", deadline_id)),
                  (t.t("button.cancel"), callback("st", deadline_id))]])


async def _remind(t: Turn, deadline_id: int) -> None:
    coordination = t.services.coordination
    found = await coordination.missing(t.actor, deadline_id, t.now)
    if found is None:
        await t.say(t.t("problem.stale"))
        return
    deadline, lines = found
    people = await coordination.recipients([x.unit_id for x in lines])
    languages = await t.services.access.languages_of([p for ids in people.values() for p in ids])
    sent = blocked = 0
    unreachable: list[str] = []
    blocked_units: list[str] = []
    # One by one, not gathered: the rate limiter paces them and a failure stays local.
    for line in lines:
        recipients = people.get(line.unit_id, [])
        if not recipients:
            unreachable.append(line.unit_name)
        for external_id in recipients:
            outcome = await _notify(t, external_id, languages.get(external_id), "nudge.manual",
                                    "button.fill_now", deadline, unit=line.unit_name)
            sent += outcome is Delivery.SENT
            if outcome is Delivery.BLOCKED:
                blocked += 1
                if line.unit_name not in blocked_units:
                    blocked_units.append(line.unit_name)
    text = (t.t("remind.done_blocked", sent=sent, blocked=blocked) if blocked
            else t.t("remind.done", sent=sent))
    if blocked_units:
        text += "\n" + t.t("remind.blocked", units="、".join(blocked_units))
    if unreachable:
        text += "\n" + t.t("remind.unbound", units="、".join(unreachable))
    # Replaces the confirmation, so its button cannot send the nudges a second time.
    await t.edit_or_say(text)


async def _notify(t: Turn, external_id: str, language: str | None, key: str, button: str,
                  deadline: DeadlineView, **params: str) -> Delivery:
    """One message to a liaison, in their language, with a button that opens the form;
    someone who blocked the bot is marked so (⚠ in /units, left out of later nudges)."""
    catalogue, lang = t.catalogue, language or t.services.settings.bot.language
    text = catalogue.text(key, lang, what=deadline_label_in(catalogue, lang, deadline),
                          **params)
    outcome = await t.services.notifier.send(
        external_id, text,
        [[Button(catalogue.text(button, lang), callback("sub", deadline.deadline_id))]])
    if outcome is Delivery.BLOCKED:
        await t.services.access.mark_unreachable(external_id)
    return outcome


async def review(update: Update, context: CustomContext) -> None:
    t = await _coordinator(update, context)
    if t is None or (deadline_id := await _current(t)) is None:
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
    buttons = [[(t.t("button.return", unit=x.unit_name), callback("rv", x.submission_id or 0))]
               for x in done[:20]]
    await t.say(t.t("review.pick", what=deadline_label(t, deadline)), buttons)


async def on_review_comment(update: Update, context: CustomContext) -> bool:
    """The text after tapping 退回: the reason sent to the unit. True if it was consumed."""
    if context.user_data is None or _REVIEW_KEY not in context.user_data:
        return False
    asked_at = context.user_data.get(_REVIEW_AT)
    if not isinstance(asked_at, datetime) or context.services.clock() - asked_at > REVIEW_WAIT:
        abandon_review(context)
        return False
    t = await _coordinator(update, context)
    if t is None or update.effective_message is None:
        return True
    submission_id = context.user_data.pop(_REVIEW_KEY)
    comment = (update.effective_message.text or "").strip()[:1000]
    if not comment:
        await t.say(t.t("review.ask_comment"))
        context.user_data[_REVIEW_KEY] = submission_id
        return True
    returned = await t.services.coordination.return_submission(t.actor, submission_id, comment,
                                                               t.now)
    if returned is None:
        await t.say(t.t("problem.stale"))
        return True
    languages = await t.services.access.languages_of(list(returned.recipients))
    notified = 0
    for external_id in returned.recipients:
        outcome = await _notify(t, external_id, languages.get(external_id), "review.notice",
                                "button.fix_now", returned.deadline, comment=comment)
        notified += outcome is Delivery.SENT
    await t.say(t.t("review.done", unit=returned.deadline.unit_name,
                    what=deadline_label(t, returned.deadline), notified=notified))
    return True


async def units(update: Update, context: CustomContext) -> None:
    t = await _coordinator(update, context)
    if t is None or (campaign := await _campaign(t)) is None:
        return
    bindings = await t.services.coordination.bindings(campaign.id, t.now)
    lines = [t.t("units.header", campaign=campaign.name)]
    for b in bindings:
        people = "、".join(f"{name}({t.t('role.' + role)}{'' if ok else ' ⚠'})"
                          for name, role, ok in b.people) or t.t("units.nobody")
        pending = t.t("units.pending", count=b.pending_invites) if b.pending_invites else ""
        lines.append(f"· {b.unit_name}:{people}{pending}")
    await t.say("\n".join(lines))


async def invite(update: Update, context: CustomContext) -> None:
    t = await _coordinator(update, context)
    if t is None or (campaign := await _campaign(t)) is None:
        return
    settings = t.services.settings.bot
    invites = await t.services.access.create_invites(campaign.code, t.now, settings.invite_days)
    username = t.services.bot_username or context.bot.username
    lines = [t.t("invite.header", campaign=campaign.name, days=settings.invite_days)]
    lines += [f"· {i.unit_name}:https://t.me/{username}?start={i.token}" for i in invites]
    await t.say("\n".join(lines))
