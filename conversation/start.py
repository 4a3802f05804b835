"""/start (with invitation deep links), /help, /language, and the answer to strangers."""

from __future__ import annotations

from conversation import unit_view
from conversation.events import Press
from conversation.i18n import LANGUAGES
from conversation.keywords import COORDINATOR_MENU, LIAISON_MENU, MENU
from conversation.replies import Menu
from conversation.turn import Turn, open_turn, parse_callback, refuse_stranger
from conversation.views import task_list
from services.access import InviteProblem, Redeemed, Role

_LANG_INDEX = dict(enumerate(LANGUAGES))


async def start(t: Turn) -> None:
    await welcome(t)


async def welcome(t: Turn) -> None:
    if not t.actor.is_known:
        await refuse_stranger(t)
        return
    if t.actor.is_coordinator:
        await t.say(t.t("welcome.coordinator"))
    for seat in t.actor.unit_seats:
        await t.say(
            t.t(
                "welcome.liaison",
                unit=seat.unit_name,
                campaign=seat.campaign_name,
                role=t.t(f"role.{seat.role.value}"),
            )
        )
    if t.actor.unit_seats:
        text, buttons = task_list(t, await t.services.reports.tasks(t.actor, t.now))
        await t.say(text, buttons)


async def join(t: Turn, token: str) -> None:
    """An invitation redeemed: bound to the unit (or as coordinator), then what is due."""
    result = await t.services.access.redeem(token, t.actor, t.now)
    if not isinstance(result, Redeemed):
        if result.problem is InviteProblem.ALREADY_BOUND and t.actor.is_known:
            await welcome(t)
            return
        # Unknown, expired and used links read alike to a stranger: nothing leaks. A full
        # unit is said as such (without naming it): a new link would not help there.
        key = {
            InviteProblem.ALREADY_BOUND: "invite.already_bound",
            InviteProblem.UNIT_FULL: "invite.unit_full",
        }.get(result.problem, "invite.invalid")
        await t.say(t.t(key))
        return
    seat = result.seat
    refreshed = await open_turn(t.event, t.sender, t.channel, t.services)
    await t.channel.deliver(Menu(coordinator=seat.role is Role.COORDINATOR))
    if seat.role is Role.LEADER:
        await t.say(t.t("invite.bound_leader", unit=seat.unit_name, campaign=seat.campaign_name))
        if seat.unit_id is not None:
            await unit_view.show_record(refreshed, seat.unit_id)
        return
    if seat.role is Role.COORDINATOR:
        await t.say(t.t("invite.bound_coordinator", campaign=seat.campaign_name))
        if not t.channel.capabilities.slash_commands:
            await menu(refreshed)
        return
    await t.say(
        t.t(
            "invite.bound",
            unit=seat.unit_name,
            campaign=seat.campaign_name,
            role=t.t(f"role.{seat.role.value}"),
        )
    )
    text, buttons = task_list(refreshed, await t.services.reports.tasks(refreshed.actor, t.now))
    capabilities = t.channel.capabilities
    if not capabilities.slash_commands and not capabilities.buttons and buttons:
        # A second numbered list (the menu) would take over the numbers of this one: the
        # menu is one word away instead.
        await t.say(f"{text}\n{t.t('menu.hint')}", buttons)
        return
    await t.say(text, buttons)
    if not capabilities.slash_commands:
        await menu(refreshed)


async def help_command(t: Turn) -> None:
    if not t.actor.is_known:
        await refuse_stranger(t)
        return
    keys = (["help.liaison"] if t.actor.unit_seats else []) + (
        ["help.coordinator"] if t.actor.is_coordinator else []
    )
    await t.say("\n\n".join(t.t(k) for k in keys))
    if not t.channel.capabilities.slash_commands:
        await t.say(t.t("help.keywords"))
        await menu(t)


MENU_PREFIX = "mn"
JOIN_PREFIX = "join"  # join:<token>: a binding offered by message, as if its code were typed


async def menu(t: Turn) -> None:
    """The common actions of the person's roles as buttons (or a numbered list): on a
    platform without a command menu this is how they are found."""
    names = [
        n
        for n in MENU
        if (t.actor.unit_seats and n in LIAISON_MENU)
        or (t.actor.is_coordinator and n in COORDINATOR_MENU)
    ]
    buttons = [(t.t(f"command.{n}"), f"{MENU_PREFIX}:{MENU.index(n)}") for n in names]
    await t.say(t.t("menu.heading"), [buttons[i : i + 3] for i in range(0, len(buttons), 3)])


async def language(t: Turn) -> None:
    if not t.actor.is_known:
        await refuse_stranger(t)
        return
    await t.say(
        t.t("language.pick"),
        [[(t.t(f"language.{code}"), f"lang:{i}") for i, code in _LANG_INDEX.items()]],
    )


async def on_language(t: Turn, press: Press) -> None:
    payload = parse_callback(press.data)
    await t.ack()
    if not t.actor.is_known:
        await refuse_stranger(t)
        return
    if payload is None or payload.id not in _LANG_INDEX:
        await t.say(t.t("problem.stale"))
        return
    code = _LANG_INDEX[payload.id]
    await t.services.access.set_language(t.actor.person_id, code)
    await t.edit_or_say(t.catalogue.text("language.set", code))


async def stranger_or_hint(t: Turn) -> None:
    """Anything no other handler took: a stranger is refused, a member gets a hint."""
    await t.ack()
    if not t.actor.is_known:
        await refuse_stranger(t)
    else:
        await t.say(t.t("hint.unknown_input"))
