"""`cuibao people`: who holds what, revoking links, unbinding or replacing a liaison or
deputy, invitation material (.xlsx and QR codes) and adding units from a unit list.

    cuibao people list    --campaign C
    cuibao people revoke  --campaign C [--units a,b] [--yes]
    cuibao people unbind  --campaign C --unit U [--role liaison|deputy] [--replace] [--yes]
    cuibao people invite  --campaign C [--units a,b] [--revoke-old] [--out DIR] [--yes]
    cuibao people import  LIST.xlsx (--plan PLAN.toml [--out NEW.toml] | --campaign C) [--yes]

Whatever changes the database asks first (`[y/N]` on the terminal; `--yes` answers it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.config import Settings
    from conversation.i18n import Catalogue
    from conversation.services import AppServices
    from services.people import CampaignPeople, PeopleService

T = TypeVar("T")


def add_people_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register `people` on the CLI's subcommands (`commands` is add_subparsers()'s)."""
    people = commands.add_parser("people", help="people and invitation links of a campaign")
    sub = people.add_subparsers(title="people commands")

    listing = sub.add_parser(
        "list", parents=[common], help="each unit's people, last activity and unused links"
    )
    listing.add_argument("--campaign", required=True)
    listing.set_defaults(run=list_command)

    revoke = sub.add_parser("revoke", parents=[common], help="revoke unused invitation links")
    revoke.add_argument("--campaign", required=True)
    revoke.add_argument("--units", help="comma-separated unit ids (default: every link)")
    revoke.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    revoke.set_defaults(run=revoke_command)

    unbind = sub.add_parser(
        "unbind", parents=[common], help="take a liaison or deputy off their unit"
    )
    unbind.add_argument("--campaign", required=True)
    unbind.add_argument("--unit", required=True, help="the unit's id")
    unbind.add_argument("--role", choices=["liaison", "deputy"], default="liaison")
    unbind.add_argument(
        "--replace", action="store_true", help="also print a new link for whoever takes over"
    )
    unbind.add_argument("--bot-username", help="the bot's @username (default: ask Telegram)")
    unbind.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    unbind.set_defaults(run=unbind_command)

    invite = sub.add_parser(
        "invite", parents=[common], help="new links with a workbook to forward and QR codes (PNG)"
    )
    invite.add_argument("--campaign", required=True)
    invite.add_argument("--units", help="comma-separated unit ids (default: every unit)")
    invite.add_argument(
        "--revoke-old", action="store_true", help="revoke those units' older links that still work"
    )
    invite.add_argument(
        "--out",
        type=Path,
        help="folder for the workbook and the QR codes (default: ./CAMPAIGN-邀请材料)",
    )
    invite.add_argument("--bot-username", help="the bot's @username (default: ask Telegram)")
    invite.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    invite.set_defaults(run=invite_command)

    imports = sub.add_parser(
        "import",
        parents=[common],
        help="add units from a unit list (.xlsx: 单位名称, 分组, optional 联系人, 手机)",
    )
    imports.add_argument("unit_list", type=Path)
    target = imports.add_mutually_exclusive_group(required=True)
    target.add_argument("--plan", type=Path, help="a plan file (draft) to add the units to")
    target.add_argument("--campaign", help="a loaded campaign to add the units to")
    imports.add_argument(
        "--out", type=Path, help="with --plan: write the plan here (default: print it)"
    )
    imports.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    imports.set_defaults(run=import_command)


# ---- the commands ------------------------------------------------------------------------


def list_command(args: argparse.Namespace) -> int:
    settings, catalogue = _setup(args)

    async def go(people: PeopleService, campaign_id: int) -> CampaignPeople:
        return await people.holdings(campaign_id, datetime.now(UTC))

    holdings = _with_campaign(settings, catalogue, args.campaign, go)
    zone = ZoneInfo(holdings.timezone)

    def when(at: datetime) -> str:
        return catalogue.when(at.astimezone(zone))

    print(catalogue.text("people.header", campaign=holdings.name, count=len(holdings.units)))
    for unit in holdings.units:
        group = f"({unit.group})" if unit.group else ""
        nobody = "" if unit.people else ":" + catalogue.text("units.nobody")
        print(f"· {unit.name}{group}{nobody}  [{unit.code}]")
        for h in unit.people:
            print(
                "  "
                + catalogue.text(
                    "people.holder",
                    name=h.name,
                    when=when(h.last_active),
                    role=catalogue.text(f"role.{h.role.value}"),
                    mark="" if h.reachable else " ⚠",
                )
            )
        if unit.links:
            until = "、".join(dict.fromkeys(when(x.expires_at) for x in unit.links))
            print("  " + catalogue.text("people.links", count=len(unit.links), until=until))
    if holdings.coordinator_links:
        until = "、".join(when(x.expires_at) for x in holdings.coordinator_links)
        print(
            catalogue.text(
                "people.coordinator_links", count=len(holdings.coordinator_links), until=until
            )
        )
    return 0


def revoke_command(args: argparse.Namespace) -> int:
    settings, catalogue = _setup(args)
    codes = _codes(args.units)
    now = datetime.now(UTC)

    async def count(people: PeopleService, campaign_id: int) -> tuple[CampaignPeople, int]:
        holdings = await people.holdings(campaign_id, now)
        units = [u for u in holdings.units if codes is None or u.code in codes]
        _check_units(catalogue, codes, holdings)
        links = sum(len(u.links) for u in units)
        return holdings, links + (len(holdings.coordinator_links) if codes is None else 0)

    holdings, links = _with_campaign(settings, catalogue, args.campaign, count)
    if not links:
        print(catalogue.text("people.revoke.none", campaign=holdings.name))
        return 0
    _confirm(
        catalogue,
        catalogue.text("people.revoke.confirm_all", campaign=holdings.name, count=links),
        args.yes,
    )

    async def revoke(people: PeopleService, campaign_id: int) -> int:
        done = 0
        targets = [u.unit_id for u in holdings.units if u.code in codes] if codes else [None]
        for unit_id in targets:
            done += await people.revoke(None, campaign_id, now, holdings.newest_link, unit_id) or 0
        return done

    revoked = _with_campaign(settings, catalogue, args.campaign, revoke)
    print(catalogue.text("people.revoke.done", count=revoked))
    return 0


def unbind_command(args: argparse.Namespace) -> int:
    from services.access import Role

    settings, catalogue = _setup(args)
    role = Role(args.role)
    username = _username(args, settings, catalogue) if args.replace else ""
    now = datetime.now(UTC)

    async def find(people: PeopleService, campaign_id: int) -> tuple[int, int, str, str]:
        holdings = await people.holdings(campaign_id, now)
        _check_units(catalogue, [args.unit], holdings)
        unit = next(u for u in holdings.units if u.code == args.unit)
        holder = next((h for h in unit.people if h.role is role), None)
        if holder is None:
            raise _usage(
                catalogue.text(
                    "people.cli.nobody", unit=unit.name, role=catalogue.text(f"role.{role.value}")
                )
            )
        return holder.membership_id, holder.person_id, holder.name, unit.name

    membership, person, name, unit_name = _with_campaign(settings, catalogue, args.campaign, find)
    key = "people.replace.confirm" if args.replace else "people.unbind.confirm"
    _confirm(
        catalogue,
        catalogue.text(key, name=name, unit=unit_name, role=catalogue.text(f"role.{role.value}")),
        args.yes,
    )

    async def act(services: AppServices) -> tuple[Any, Any]:
        unbound = await services.people.unbind(None, membership, person, now)
        if unbound is None or not args.replace:
            return unbound, None
        [issued] = await services.access.create_invites(
            args.campaign, now, settings.bot.invite_days, [args.unit], revoke_older=True
        )
        return unbound, issued

    unbound, issued = _with_database(settings, catalogue, act)
    if unbound is None:
        print(catalogue.text("people.already_done"))
        return 0
    print(
        catalogue.text(
            "people.cli.unbound",
            name=unbound.person_name,
            unit=unbound.unit_name,
            revoked=unbound.links_revoked,
        )
    )
    if _tell(settings, catalogue, unbound):
        print(catalogue.text("people.cli.told"))
    else:
        print(catalogue.text("people.cli.not_told"), file=sys.stderr)
    if issued is not None:
        print(
            catalogue.text(
                "people.new_link.link",
                days=settings.bot.invite_days,
                link=f"https://t.me/{username}?start={issued.token}",
            )
        )
    return 0


def invite_command(args: argparse.Namespace) -> int:
    from conversation.invitations import material

    settings, catalogue = _setup(args)
    codes = _codes(args.units)
    username = _username(args, settings, catalogue)
    now = datetime.now(UTC)

    async def before(people: PeopleService, campaign_id: int) -> CampaignPeople:
        holdings = await people.holdings(campaign_id, now)
        _check_units(catalogue, codes, holdings)
        return holdings

    holdings = _with_campaign(settings, catalogue, args.campaign, before)
    older = sum(len(u.links) for u in holdings.units if codes is None or u.code in codes)
    if args.revoke_old and older:
        _confirm(catalogue, catalogue.text("people.cli.confirm_reissue", count=older), args.yes)

    async def issue(services: AppServices) -> Any:
        return await services.access.create_invites(
            args.campaign, now, settings.bot.invite_days, codes, revoke_older=args.revoke_old
        )

    issued = _with_database(settings, catalogue, issue)

    def link(token: str) -> str:
        return f"https://t.me/{username}?start={token}"

    made = material(catalogue, catalogue.default, holdings, issued, link)
    folder: Path = args.out or Path(catalogue.text("people.cli.folder", campaign=args.campaign))
    codes_folder = folder / catalogue.text("people.cli.qr_folder")
    try:
        codes_folder.mkdir(parents=True, exist_ok=True)
        workbook = folder / catalogue.text("people.material.file", campaign=args.campaign)
        workbook.write_bytes(made.workbook)
        for name, png in made.qr_codes:
            (codes_folder / name).write_bytes(png)
    except OSError as exc:
        raise _usage(
            catalogue.text(
                "people.cli.cannot_write", path=str(folder), detail=exc.strerror or str(exc)
            )
        ) from None
    for invite in issued:
        print(f"{invite.unit_name}\t{link(invite.token)}")
    print(
        catalogue.text(
            "people.cli.material_written",
            workbook=str(workbook),
            folder=str(codes_folder),
            count=len(made.qr_codes),
            days=settings.bot.invite_days,
        ),
        file=sys.stderr,
    )
    return 0


def import_command(args: argparse.Namespace) -> int:
    from conversation.i18n import unit_list_error_text
    from domain.plan_toml import PlanError, parse_plan
    from domain.unit_list import add_units_to_plan_text, merge_unit_list
    from services.people import read_unit_list

    settings, catalogue = _setup(args) if args.campaign else (None, _catalogue_only(args))
    try:
        data = args.unit_list.read_bytes()
    except OSError:
        raise _usage(catalogue.text("cli.not_found", path=str(args.unit_list))) from None
    listed = read_unit_list(data)
    if not isinstance(listed, list):
        raise _usage(unit_list_error_text(catalogue, str(args.unit_list), listed))
    if args.plan is not None:
        from bot.cli_common import read_plan

        plan, text = read_plan(args.plan, catalogue)
        merge = merge_unit_list(plan, listed)
        updated = add_units_to_plan_text(text, merge.added, merge.placeholder)
        try:
            parse_plan(updated, str(args.plan))
        except PlanError:  # e.g. units written inline (`units = [...]`): nothing to append to
            raise _usage(catalogue.text("people.cli.plan_inline", path=str(args.plan))) from None
        _print_merge(catalogue, plan.name, merge, sys.stderr)
        if args.out is None:
            sys.stdout.write(updated)
        else:
            try:
                args.out.write_text(updated, encoding="utf-8")
            except OSError as exc:
                raise _usage(
                    catalogue.text(
                        "people.cli.cannot_write",
                        path=str(args.out),
                        detail=exc.strerror or str(exc),
                    )
                ) from None
            print(
                catalogue.text(
                    "people.cli.plan_written", path=str(args.out), count=len(merge.added)
                )
            )
        return 0
    assert settings is not None

    async def preview(people: PeopleService, campaign_id: int) -> Any:
        return await people.preview_import(None, campaign_id, listed)

    found = _with_campaign(settings, catalogue, args.campaign, preview)
    if not found.merge.added:
        print(
            catalogue.text(
                "people.import.nothing", campaign=found.campaign_name, known=len(found.merge.known)
            )
        )
        return 0
    _print_merge(catalogue, found.campaign_name, found.merge, sys.stdout)
    _confirm(catalogue, "", args.yes)

    async def act(people: PeopleService, campaign_id: int) -> Any:
        return await people.import_units(
            None, campaign_id, found.version, listed, datetime.now(UTC)
        )

    report = _with_campaign(settings, catalogue, args.campaign, act)
    if report is None:
        print(catalogue.text("people.already_done"))
        return 0
    print(catalogue.text("people.import.done", added=report.units_added, version=report.version))
    return 0


# ---- shared steps ------------------------------------------------------------------------


def _setup(args: argparse.Namespace) -> tuple[Settings, Catalogue]:
    from bot.cli_common import database_setup

    settings, catalogue, _language, _url = database_setup(args)
    return settings, catalogue


def _catalogue_only(args: argparse.Namespace) -> Catalogue:
    from conversation.i18n import Catalogue

    return Catalogue(getattr(args, "lang", None) or "zh-CN")


def _usage(message: str) -> Exception:
    from bot.cli_common import UsageError

    return UsageError(message)


def _with_database(
    settings: Settings, catalogue: Catalogue, work: Callable[[AppServices], Awaitable[T]]
) -> T:
    from bot.composition import open_services

    async def go() -> T:
        async with open_services(settings) as services:
            return await work(services)

    try:
        return asyncio.run(go())
    except LookupError as exc:
        raise _usage(catalogue.text("cli.unknown_campaign_or_unit", value=str(exc))) from None


def _with_campaign(
    settings: Settings,
    catalogue: Catalogue,
    code: str,
    work: Callable[[PeopleService, int], Awaitable[T]],
) -> T:
    async def go(services: AppServices) -> T:
        people = services.people
        campaign_id = await people.campaign_id(code)
        if campaign_id is None:
            raise LookupError(code)
        return await work(people, campaign_id)

    return _with_database(settings, catalogue, go)


def _codes(units: str | None) -> list[str] | None:
    return [u.strip() for u in units.split(",") if u.strip()] if units else None


def _check_units(catalogue: Catalogue, codes: list[str] | None, holdings: CampaignPeople) -> None:
    unknown = sorted(set(codes or ()) - {u.code for u in holdings.units})
    if unknown:
        raise LookupError(", ".join(unknown))


def _confirm(catalogue: Catalogue, question: str, yes: bool) -> None:
    """Ask on the terminal; anything but y/yes/是 (or no terminal at all) cancels."""
    if question:
        print(question)
    if yes:
        return
    try:
        answer = input(catalogue.text("people.cli.ask"))
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes", "是"):
        raise _usage(catalogue.text("people.cancelled"))


def _username(args: argparse.Namespace, settings: Settings, catalogue: Catalogue) -> str:
    from bot.cli_common import bot_username

    return str(args.bot_username or bot_username(settings, catalogue))


def _tell(settings: Settings, catalogue: Catalogue, unbound: Any) -> bool:
    """Tell the removed person, in their language, on their own platform, when that
    platform's credentials are at hand (a Telegram token; a DingTalk app and secret)."""
    language = unbound.language or settings.bot.language
    text = catalogue.text(
        "people.unbind.notice",
        language,
        unit=unbound.unit_name,
        campaign=unbound.campaign_name,
        role=catalogue.text(f"role.{unbound.role.value}", language),
    )
    to = unbound.address
    if to.platform == "dingtalk":
        return _tell_on_dingtalk(settings, to.external_id, text)
    if to.platform != "telegram" or settings.token is None:
        return False
    from telegram import Bot
    from telegram.error import TelegramError

    async def go() -> None:
        async with Bot(
            settings.token.get_secret_value() if settings.token else "",
            base_url=settings.bot.api_base_url,
        ) as bot:
            await bot.send_message(int(to.external_id), text)

    try:
        asyncio.run(go())
    except (TelegramError, ValueError, OSError):
        return False
    return True


def _tell_on_dingtalk(settings: Settings, user: str, text: str) -> bool:
    config = settings.dingtalk
    if not config.client_id or settings.dingtalk_secret is None:
        return False
    import aiohttp

    from dingtalk.api import DingTalkApi, DingTalkError

    async def go() -> None:
        async with aiohttp.ClientSession() as http:
            api = DingTalkApi(
                http,
                config.client_id,
                settings.dingtalk_secret.get_secret_value() if settings.dingtalk_secret else "",
                config.robot_code or None,
                api_base=config.api_base_url,
                oapi_base=config.oapi_base_url,
            )
            await api.send_text(user, text)

    try:
        asyncio.run(go())
    except (DingTalkError, aiohttp.ClientError, OSError):
        return False
    return True


def _print_merge(catalogue: Catalogue, campaign: str, merge: Any, out: Any) -> None:
    print(
        catalogue.text(
            "people.import.confirm",
            campaign=campaign,
            count=len(merge.added),
            known=len(merge.known),
        ),
        file=out,
    )
    for unit in merge.added:
        print(f"+ {unit.name}" + (f"({unit.group})" if unit.group else ""), file=out)
    if merge.regrouped:
        print(
            catalogue.text("people.import.regrouped", units="、".join(merge.regrouped)), file=out
        )
    if merge.not_listed:
        print(catalogue.text("people.import.not_listed", count=len(merge.not_listed)), file=out)
