"""/digest: a coordinator's own daily digest — shown, muted, unmuted, moved to another
time (`/digest 17:30`) or back to the deployment's (`/digest default`). The buttons carry
`dg:<action>`; anything else is refused as stale. The reminder job re-plans after every
update in a private chat (bot/nudge_loop.py), so a new time counts at once."""

from __future__ import annotations

from conversation.coordinator import abandon_review, is_coordinator
from conversation.events import Press
from conversation.turn import Turn, callback, parse_callback
from services.digest import (
    DigestAction,
    DigestChange,
    DigestProblem,
    DigestSetting,
    parse_change,
)

PREFIX = "dg"
# The buttons' ids: small integers, so a payload is checked against this table alone.
BUTTONS = {0: DigestAction.MUTE, 1: DigestAction.UNMUTE, 2: DigestAction.DEFAULT}
_IDS = {action: ident for ident, action in BUTTONS.items()}


async def digest(t: Turn) -> None:
    if not await is_coordinator(t):
        return
    argument = " ".join(t.args)
    if not argument:
        setting = await t.services.digest.setting(t.actor)
        if setting is not None:
            await t.say(*_view(t, setting))
        return
    change = parse_change(argument)
    if isinstance(change, DigestProblem):
        await _refuse(t, change, argument)
        return
    await _apply(t, change)


async def on_button(t: Turn, press: Press) -> None:
    if not await is_coordinator(t):
        return
    await t.ack()
    await abandon_review(t)
    payload = parse_callback(press.data)
    action = (
        BUTTONS.get(payload.id)
        if payload is not None
        and payload.prefix == PREFIX
        and payload.field is None
        and payload.index is None
        else None
    )
    if action is None:
        await t.say(t.t("invalid.stale_button"))
        return
    await _apply(t, DigestChange(action))


async def _apply(t: Turn, change: DigestChange) -> None:
    """Change the setting; the answer (the new setting) comes only after the commit."""
    result = await t.services.digest.change(t.actor, change, t.now)
    if result is None:
        await t.say(t.t("invalid.stale_button"))
    elif isinstance(result, DigestProblem):
        await _refuse(t, result, f"{change.at:%H:%M}" if change.at else "")
    else:
        text, buttons = _view(t, result)
        await t.edit_or_say(t.t("digest.saved") + "\n" + text, buttons)


async def _refuse(t: Turn, problem: DigestProblem, argument: str) -> None:
    quiet = t.services.digest.quiet
    await t.say(
        t.t(
            f"digest.problem_{problem.value}",
            value=argument,
            start=f"{quiet.start:%H:%M}",
            end=f"{quiet.end:%H:%M}",
        )
    )


def _view(t: Turn, setting: DigestSetting) -> tuple[str, list[list[tuple[str, str]]]]:
    if not setting.available or setting.at is None or setting.default is None:
        return t.t("digest.setting_unavailable"), []
    at, default = f"{setting.at:%H:%M}", f"{setting.default:%H:%M}"
    if not setting.on:
        text = t.t("digest.setting_muted")
        row = [(t.t("button.digest_unmute", time=at), callback(PREFIX, _IDS[DigestAction.UNMUTE]))]
    else:
        text = t.t("digest.setting_own" if setting.own_time else "digest.setting_on", time=at)
        row = [(t.t("button.digest_mute"), callback(PREFIX, _IDS[DigestAction.MUTE]))]
    if setting.own_time:
        row.append(
            (
                t.t("button.digest_default", time=default),
                callback(PREFIX, _IDS[DigestAction.DEFAULT]),
            )
        )
    return text + "\n" + t.t("digest.hint", time=default), [row]
