"""The core's one entry point: an event from any platform goes to the flow it is meant for.
What plain text and files mean depends on what the sender is doing."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from conversation import (
    coordinator,
    digest,
    export,
    intake,
    liaison,
    people,
    plans,
    reports_view,
    start,
    unit_view,
)
from conversation.choices import STEP as CHOICES
from conversation.choices import Offered
from conversation.events import (
    Command,
    Event,
    FileArrived,
    FileTooLarge,
    Join,
    Other,
    Press,
    Sender,
    Text,
)
from conversation.keywords import MENU, command_of
from conversation.replies import Channel
from conversation.services import AppServices
from conversation.start import MENU_PREFIX
from conversation.turn import Turn, open_turn, refuse_stranger

Flow = Callable[[Turn], Awaitable[None]]
ButtonFlow = Callable[[Turn, Press], Awaitable[None]]

COMMANDS: dict[str, Flow] = {
    "start": start.start,
    "help": start.help_command,
    "language": start.language,
    "tasks": liaison.tasks,
    "submit": liaison.submit,
    "mine": liaison.history,
    "status": coordinator.status,
    "missing": coordinator.missing,
    "remind": coordinator.remind,
    "review": coordinator.review,
    "units": people.units,
    "unit": people.unit,
    "revoke": people.revoke,
    "invite": people.invite,
    "leaders": people.leaders,
    "plan": plans.new_plan,
    "export": export.export,
    "blank": intake.blank,
    "digest": digest.digest,
    "exempt": coordinator.exempt,
    "unexempt": coordinator.unexempt,
    "tongbao": reports_view.tongbao,
}

# A button's payload starts with its flow's prefix; the first pattern that matches wins,
# and whatever is left is the liaison's submit flow, which checks the payload again.
BUTTONS: tuple[tuple[re.Pattern[str], ButtonFlow], ...] = (
    (re.compile(r"^lang:"), start.on_language),
    (re.compile(r"^(nd|nok|nx):"), plans.on_button),
    (re.compile(r"^(prv|prx):"), plans.on_revision_button),
    (re.compile(rf"^{digest.PREFIX}:"), digest.on_button),
    (re.compile(r"^ex[a-z]*:"), coordinator.on_exempt_button),
    (re.compile(people.PATTERN), people.on_button),
    (re.compile(r"^(st|rm|rmok|rvl|rv):"), coordinator.on_button),
    (re.compile(unit_view.PATTERN), unit_view.on_button),
)

NOTICE_EXTENSIONS = frozenset({"docx", "txt", "toml"})
_MENU_BUTTON = re.compile(rf"{MENU_PREFIX}:(\d{{1,3}})")
_JOIN_BUTTON = re.compile(rf"{start.JOIN_PREFIX}:([A-Za-z0-9_-]{{6,64}})")


async def handle(event: Event, sender: Sender, channel: Channel, services: AppServices) -> None:
    """Handle one event of one person (the adapter keeps one person's events in order)."""
    t = await open_turn(event, sender, channel, services)
    leader_only = bool(t.actor.leader_seats) and not (t.actor.is_coordinator or t.actor.unit_seats)
    if leader_only and not isinstance(event, Join | Press):
        await unit_view.for_leader(t)  # read-only: whatever they send shows their unit
        return
    match event:
        case Join(token):
            await start.join(t, token)
        case Command(name) if name in COMMANDS:
            await COMMANDS[name](t)
        case Text(edited=True) | FileArrived(edited=True):
            # Never an answer: it would land on whatever question is open now, not the
            # one it first answered. Answers are changed on the preview.
            await _edit_ignored(t)
        case Text() if (press := await _typed_choice(t, event)) is not None:
            t = await open_turn(press, sender, channel, services)
            await on_press(t, press)
        case Text() if (named := _named_command(t, event)) is not None:
            await handle(named, sender, channel, services)
        case Text():
            await on_text(t, event)
        case Press():
            await on_press(t, event)
        case FileArrived():
            await on_file(t, event)
        case Command() | Other():
            await start.stranger_or_hint(t)


async def on_text(t: Turn, message: Text) -> None:
    if await coordinator.on_review_comment(t, message):
        return
    if await plans.on_pasted_text(t, message):
        return
    await liaison.on_text(t, message)


async def on_press(t: Turn, press: Press) -> None:
    if (offered := _JOIN_BUTTON.fullmatch(press.data)) is not None:
        await t.ack()  # a binding offered by the plan's contacts: as if its code were typed
        await start.join(t, offered.group(1))
        return
    if (menu := _MENU_BUTTON.fullmatch(press.data)) is not None:
        index = int(menu.group(1))
        if index < len(MENU):
            await t.ack()
            await COMMANDS[MENU[index]](replace(t, event=Command(MENU[index])))
            return
    for pattern, flow in BUTTONS:
        if pattern.match(press.data):
            await flow(t, press)
            return
    await liaison.on_button(t, press)


async def on_file(t: Turn, file: FileArrived) -> None:
    """A coordinator's .xlsx may be a unit list (通讯录) or an export template, a .docx/.txt
    a notice and a .toml a plan; anything else, and everything a liaison sends, is an
    attachment (or a filled-in blank) of the draft on screen."""
    try:
        await _route_file(t, file)
    except FileTooLarge as exc:  # found only while downloading: nothing was stored
        await t.say(t.t("problem.file_too_large", max_mb=exc.limit // 1024 // 1024))


async def _route_file(t: Turn, file: FileArrived) -> None:
    if file.is_picture:
        await liaison.on_file(t, file)
    elif file.extension == "xlsx":
        await people.on_workbook(t, file)
    elif file.extension in NOTICE_EXTENSIONS:
        await plans.on_document(t, file)
    else:
        await liaison.on_file(t, file)


def _named_command(t: Turn, message: Text) -> Command | Join | None:
    """On a platform without slash commands, a command typed as its word (报送, 状态 打假)."""
    if t.channel.capabilities.slash_commands:
        return None
    return command_of(message.text, t.catalogue, tuple(COMMANDS))


async def _typed_choice(t: Turn, message: Text) -> Press | None:
    """On a platform without buttons: the choice a typed number or button's words name
    under the last message that offered choices (then forgotten: a choice is made once)."""
    if t.channel.capabilities.buttons:
        return None
    stored = await t.services.steps.get(t.actor.person_id, CHOICES)
    if stored is None:
        return None
    button = Offered.from_json(stored).pick(message.text)
    if button is None:
        return None
    await t.services.steps.take(t.actor.person_id, CHOICES)
    return Press(button.data)


async def _edit_ignored(t: Turn) -> None:
    if t.actor.is_known:
        await t.say(t.t("hint.edit_ignored"))
    else:
        await refuse_stranger(t)
