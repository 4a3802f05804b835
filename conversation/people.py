"""Coordinators manage people: who holds what (/units, /unit), unbinding or replacing a
liaison or deputy, revoking links (/revoke), invitation material (/invite) and adding
units from a unit list (.xlsx 通讯录). Every action is asked first and confirmed with a
button; a second tap on a confirmation finds nothing left to do and says so."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

from conversation import plans
from conversation.coordinator import is_coordinator
from conversation.events import FileArrived, Press
from conversation.i18n import unit_list_error_text
from conversation.invitations import material
from conversation.turn import Turn, callback, parse_callback
from domain.unit_list import ListedUnit
from services.access import Role
from services.coordination import CampaignRef
from services.people import (
    NOT_A_UNIT_LIST,
    UNIT_LIST_MAX_BYTES,
    Unbound,
    UnitHolding,
    read_unit_list,
)

_IMPORT = "people_import"
_CARD_BUTTONS = 10  # units offered as buttons when a /unit search matches several
# A QR code costs a few ms of CPU: a province's thousands are for the command line (or one
# unit at a time with /unit); the chat makes them for a campaign up to this size.
QR_CODES_IN_CHAT = 200


async def _campaign(t: Turn, code: str | None) -> CampaignRef | None:
    campaign = await t.services.coordination.campaign(t.actor, code)
    if campaign is None:
        await t.say(t.t("coord.no_campaign"))
    return campaign


def _when(t: Turn, instant: datetime, zone: str) -> str:
    return t.catalogue.when(instant.astimezone(ZoneInfo(zone)), t.language)


def _unit_block(t: Turn, unit: UnitHolding, zone: str) -> list[str]:
    group = f"({unit.group})" if unit.group else ""
    if not unit.people:
        lines = [f"· {unit.name}{group}:{t.t('units.nobody')}"]
    else:
        lines = [f"· {unit.name}{group}"]
    for h in unit.people:
        mark = "" if h.reachable else " ⚠"
        lines.append(
            "  "
            + t.t(
                "people.holder",
                name=h.name,
                role=t.t(f"role.{h.role.value}"),
                mark=mark,
                when=_when(t, h.last_active, zone),
            )
        )
    if unit.links:
        until = "、".join(dict.fromkeys(_when(t, x.expires_at, zone) for x in unit.links))
        lines.append("  " + t.t("people.links", count=len(unit.links), until=until))
    return lines


async def units(t: Turn) -> None:
    """/units [campaign]: each unit's people with their last activity, and open links."""
    if not await is_coordinator(t) or (campaign := await _campaign(t, _arg(t))) is None:
        return
    people = await t.services.people.holdings(campaign.id, t.now)
    lines = [t.t("people.header", campaign=people.name, count=len(people.units))]
    for unit in people.units:
        lines += _unit_block(t, unit, people.timezone)
    if people.coordinator_links:
        until = "、".join(
            _when(t, x.expires_at, people.timezone) for x in people.coordinator_links
        )
        lines.append(
            t.t("people.coordinator_links", count=len(people.coordinator_links), until=until)
        )
    lines.append(t.t("people.how_to_manage"))
    await t.say("\n".join(lines))


async def unit(t: Turn) -> None:
    """/unit NAME [campaign]: one unit's people and links, with what can be done."""
    if not await is_coordinator(t):
        return
    args = list(t.args)
    codes = {c.code for c in await t.services.coordination.campaigns(t.actor)}
    code = args.pop() if len(args) > 1 and args[-1] in codes else None
    if not args:
        await t.say(t.t("people.unit_usage"))
        return
    if (campaign := await _campaign(t, code)) is None:
        return
    found = await t.services.people.find_units(campaign.id, " ".join(args), t.now)
    if not found:
        await t.say(t.t("people.no_such_unit", text=" ".join(args)))
    elif len(found) == 1:
        await _card(t, found[0].unit_id)
    else:
        buttons = [[(u.name, callback("pu", u.unit_id))] for u in found[:_CARD_BUTTONS]]
        await t.say(t.t("people.pick_unit"), buttons)


async def _card(t: Turn, unit_id: int) -> None:
    found = await t.services.people.unit(t.actor, unit_id, t.now)
    if found is None:
        await t.say(t.t("problem.stale"))
        return
    people, held = found
    buttons: list[list[tuple[str, str]]] = []
    for h in held.people:
        buttons.append(
            [
                (
                    t.t("people.button.unbind", name=h.name),
                    callback("pub", h.membership_id, str(h.person_id)),
                ),
                (
                    t.t("people.button.replace", name=h.name),
                    callback("prp", h.membership_id, str(h.person_id)),
                ),
            ]
        )
    row = [(t.t("people.button.new_link"), callback("pnl", unit_id))]
    if held.links:
        row.append((t.t("people.button.revoke_unit"), callback("prv", unit_id)))
    buttons.append(row)
    buttons.append([(t.t("unitview.record"), callback("ur", unit_id))])
    await t.say("\n".join(_unit_block(t, held, people.timezone)), buttons)


async def revoke(t: Turn) -> None:
    """/revoke [campaign]: revoke every open link of the campaign, after a confirmation."""
    if not await is_coordinator(t) or (campaign := await _campaign(t, _arg(t))) is None:
        return
    people = await t.services.people.holdings(campaign.id, t.now)
    count = sum(len(u.links) for u in people.units) + len(people.coordinator_links)
    if not count:
        await t.say(t.t("people.revoke.none", campaign=people.name))
        return
    await t.say(
        t.t("people.revoke.confirm_all", campaign=people.name, count=count),
        _confirm(t, callback("pra", campaign.id, str(people.newest_link))),
    )


async def invite(t: Turn) -> None:
    """/invite [campaign]: a fresh link per unit as text, the workbook to forward and the
    QR codes; older links still open can then be revoked with one confirmation."""
    if not await is_coordinator(t) or (campaign := await _campaign(t, _arg(t))) is None:
        return
    settings = t.services.settings
    before = await t.services.people.holdings(campaign.id, t.now)
    issued = await t.services.access.create_invites(campaign.code, t.now, settings.invite_days)
    link = t.channel.invitation
    lines = [t.t("invite.header", campaign=campaign.name, days=settings.invite_days)]
    lines += [f"· {i.unit_name}:{link(i.token)}" for i in issued]
    await t.say("\n".join(lines))
    with_codes = len(issued) <= QR_CODES_IN_CHAT
    made = await asyncio.to_thread(
        material, t.catalogue, t.language, before, issued, link, qr_codes=with_codes
    )
    await _document(
        t,
        made.workbook,
        t.t("people.material.file", campaign=campaign.code),
        t.t("people.material.caption"),
    )
    if with_codes:
        await _document(
            t,
            made.qr_zip,
            t.t("people.material.qr_file", campaign=campaign.code),
            t.t("people.material.qr_caption"),
        )
    else:
        await t.say(t.t("people.material.qr_elsewhere", count=len(issued), campaign=campaign.code))
    older = sum(len(u.links) for u in before.units)
    if older:
        await t.say(
            t.t("people.revoke.confirm_older", count=older),
            _confirm(t, callback("pra", campaign.id, str(before.newest_link))),
        )


async def leaders(t: Turn) -> None:
    """/leaders [campaign]: a link per unit for its leader (分管领导/负责人), who is told when
    the unit is escalated (the plan's `escalate`) and sees the unit read-only."""
    if not await is_coordinator(t) or (campaign := await _campaign(t, _arg(t))) is None:
        return
    days = t.services.settings.invite_days
    issued = await t.services.access.create_invites(campaign.code, t.now, days, role=Role.LEADER)
    link = t.channel.invitation
    lines = [t.t("leaders.header", campaign=campaign.name, days=days)]
    lines += [f"· {i.unit_name}:{link(i.token)}" for i in issued]
    await t.say("\n".join(lines))


async def on_button(t: Turn, press: Press) -> None:
    if not await is_coordinator(t):
        return
    await t.ack()
    payload = parse_callback(press.data)
    action = _ACTIONS.get(payload.prefix) if payload is not None else None
    if payload is None or action is None:
        await t.say(t.t("problem.stale"))
        return
    step, needs_number = action
    field = payload.field
    number = int(field) if field and field.isdigit() else None
    if needs_number and number is None:
        await t.say(t.t("problem.stale"))
        return
    await step(t, payload.id, number or 0)


async def _ask_unbind(t: Turn, membership_id: int, person_id: int, replace: bool = False) -> None:
    found = await t.services.people.unit_of_membership(t.actor, membership_id, person_id)
    if found is None:
        await t.say(t.t("people.already_done"))
        return
    name, role, unit_name = found
    key = "people.replace.confirm" if replace else "people.unbind.confirm"
    prefix = "prpok" if replace else "pubok"
    await t.say(
        t.t(key, name=name, role=t.t(f"role.{role.value}"), unit=unit_name),
        _confirm(t, callback(prefix, membership_id, str(person_id))),
    )


async def _ask_replace(t: Turn, membership_id: int, person_id: int) -> None:
    await _ask_unbind(t, membership_id, person_id, replace=True)


async def _unbind(t: Turn, membership_id: int, person_id: int, replace: bool = False) -> None:
    unbound = await t.services.people.unbind(t.actor, membership_id, person_id, t.now)
    if unbound is None:
        await t.say(t.t("people.already_done"))
        return
    await _tell_unbound(t, unbound)
    if replace:
        await _new_link(t, unbound.unit_id, None, replaced=unbound)
    else:
        await t.edit_or_say(
            t.t(
                "people.unbind.done",
                name=unbound.person_name,
                unit=unbound.unit_name,
                revoked=unbound.links_revoked,
            )
        )


async def _replace(t: Turn, membership_id: int, person_id: int) -> None:
    await _unbind(t, membership_id, person_id, replace=True)


async def _ask_revoke_unit(t: Turn, unit_id: int, _: int) -> None:
    found = await t.services.people.unit(t.actor, unit_id, t.now)
    if found is None or not found[1].links:
        await t.say(t.t("people.already_done"))
        return
    held = found[1]
    up_to = max(x.invite_id for x in held.links)
    await t.say(
        t.t("people.revoke.confirm_unit", unit=held.name, count=len(held.links)),
        _confirm(t, callback("prvok", unit_id, str(up_to))),
    )


async def _revoke_unit(t: Turn, unit_id: int, up_to: int) -> None:
    found = await t.services.people.unit(t.actor, unit_id, t.now)
    if found is None:
        await t.say(t.t("problem.stale"))
        return
    await _revoked(
        t, await t.services.people.revoke(t.actor, found[0].campaign_id, t.now, up_to, unit_id)
    )


async def _revoke_all(t: Turn, campaign_id: int, up_to: int) -> None:
    await _revoked(t, await t.services.people.revoke(t.actor, campaign_id, t.now, up_to))


async def _ask_new_link(t: Turn, unit_id: int, _: int) -> None:
    found = await t.services.people.unit(t.actor, unit_id, t.now)
    if found is None:
        await t.say(t.t("problem.stale"))
        return
    people, held = found
    await t.say(
        t.t("people.new_link.confirm", unit=held.name, count=len(held.links)),
        _confirm(t, callback("pnlok", unit_id, str(people.newest_link))),
    )


async def _confirmed_new_link(t: Turn, unit_id: int, up_to: int) -> None:
    await _new_link(t, unit_id, up_to)


async def _show_card(t: Turn, unit_id: int, _: int) -> None:
    await _card(t, unit_id)


async def _cancel(t: Turn, _: int, __: int) -> None:
    await t.edit_or_say(t.t("people.cancelled"))


def _confirm(t: Turn, data: str) -> list[list[tuple[str, str]]]:
    return [[(t.t("people.button.confirm"), data), (t.t("button.cancel"), callback("pno", 0))]]


async def _revoked(t: Turn, count: int | None) -> None:
    if count is None:
        await t.say(t.t("problem.stale"))
    elif count == 0:
        await t.say(t.t("people.already_done"))
    else:
        await t.edit_or_say(t.t("people.revoke.done", count=count))


async def _tell_unbound(t: Turn, unbound: Unbound) -> None:
    """The removed person hears it from the bot, in their own language."""
    language = unbound.language or t.services.settings.language
    text = t.catalogue.text(
        "people.unbind.notice",
        language,
        unit=unbound.unit_name,
        campaign=unbound.campaign_name,
        role=t.catalogue.text(f"role.{unbound.role.value}", language),
    )
    await t.services.outbox.send(unbound.address, text)


async def _new_link(
    t: Turn, unit_id: int, up_to: int | None, replaced: Unbound | None = None
) -> None:
    """A fresh link for one unit, revoking its older ones. `up_to`: the newest link when
    the coordinator was asked; a link issued since means this was done already."""
    found = await t.services.people.unit(t.actor, unit_id, t.now)
    if found is None:
        await t.say(t.t("problem.stale"))
        return
    people, held = found
    days = t.services.settings.invite_days
    made = await t.services.access.create_invites(
        people.code, t.now, days, [held.code], revoke_older=True, unless_newer_than=up_to
    )
    if not made:
        await t.say(t.t("people.already_done"))
        return
    [issued] = made
    url = t.channel.invitation(issued.token)
    lead = (
        t.t("people.replace.done", name=replaced.person_name, unit=held.name)
        if replaced
        else t.t("people.new_link.done", unit=held.name)
    )
    await t.edit_or_say(lead + "\n" + t.t("people.new_link.link", link=url, days=days))
    [(name, png)] = material(t.catalogue, t.language, people, [issued], lambda _: url).qr_codes
    await _document(t, png, name, t.t("people.material.qr_caption"))


async def on_workbook(t: Turn, file: FileArrived) -> None:
    """An .xlsx: a coordinator's unit list (通讯录) is previewed here, with what it would add
    to the campaign; anything else (an export template, a liaison's file) goes on."""
    if not t.actor.is_coordinator or t.actor.unit_seats or (file.size or 0) > UNIT_LIST_MAX_BYTES:
        await plans.on_document(t, file)
        return
    data = await file.fetch()
    listed = await asyncio.to_thread(read_unit_list, data)
    if not isinstance(listed, list):
        if listed.code in NOT_A_UNIT_LIST:
            await plans.on_document(t, file, data)
        else:
            await t.say(unit_list_error_text(t.catalogue, file.name, listed, t.language))
        return
    if await plans.on_unit_list(t, [u.name for u in listed]):  # a new campaign's units
        return
    caption = file.caption.strip()
    if (campaign := await _campaign(t, caption or None)) is None:
        return
    preview = await t.services.people.preview_import(t.actor, campaign.id, listed)
    if preview is None:
        await t.say(t.t("problem.stale"))
        return
    merge = preview.merge
    if not merge.added:
        await t.say(
            t.t("people.import.nothing", campaign=preview.campaign_name, known=len(merge.known))
        )
        return
    await t.services.steps.put(
        t.actor.person_id,
        _IMPORT,
        {
            "campaign": campaign.id,
            "version": preview.version,
            "units": [asdict(u) for u in listed],
        },
        t.now,
    )
    lines = [
        t.t(
            "people.import.confirm",
            campaign=preview.campaign_name,
            count=len(merge.added),
            known=len(merge.known),
        )
    ]
    lines += [f"+ {u.name}" + (f"({u.group})" if u.group else "") for u in merge.added]
    if merge.regrouped:
        lines.append(t.t("people.import.regrouped", units="、".join(merge.regrouped)))
    if merge.not_listed:
        lines.append(t.t("people.import.not_listed", count=len(merge.not_listed)))
    await t.say("\n".join(lines), _confirm(t, callback("pimp", campaign.id, str(preview.version))))


async def _import(t: Turn, campaign_id: int, version: int) -> None:
    pending = await t.services.steps.get(t.actor.person_id, _IMPORT)
    if not pending or pending.get("campaign") != campaign_id or pending.get("version") != version:
        # A newer list replaced this one: the list it previewed has to be sent again.
        await t.say(t.t("people.import.resend"))
        return
    listed = [ListedUnit(**u) for u in pending["units"]]
    report = await t.services.people.import_units(t.actor, campaign_id, version, listed, t.now)
    if report is None:
        await t.say(t.t("people.already_done"))
        return
    # The list stays until another replaces it: a second tap finds its units added already.
    await t.edit_or_say(
        t.t("people.import.done", added=report.units_added, version=report.version)
    )


async def _document(t: Turn, data: bytes, name: str, caption: str) -> None:
    await t.document(data, name, caption)


def _arg(t: Turn) -> str | None:
    return t.args[0] if t.args else None


# Each button's step, and whether its payload must carry a number after the id (a person,
# or the newest link or plan version the question was built on).
_ACTIONS: dict[str, tuple[Callable[[Turn, int, int], Awaitable[None]], bool]] = {
    "pu": (_show_card, False),
    "pno": (_cancel, False),
    "pub": (_ask_unbind, True),
    "pubok": (_unbind, True),
    "prp": (_ask_replace, True),
    "prpok": (_replace, True),
    "prv": (_ask_revoke_unit, False),
    "prvok": (_revoke_unit, True),
    "pra": (_revoke_all, True),
    "pnl": (_ask_new_link, False),
    "pnlok": (_confirmed_new_link, True),
    "pimp": (_import, True),
}
PATTERN = r"^p(u|no|ub|ubok|rp|rpok|rv|rvok|ra|nl|nlok|imp):"
