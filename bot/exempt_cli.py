"""`cuibao exempt`: 免报 or 延期 for one unit on one deadline, or undo it.

    cuibao exempt --campaign C --unit 名称 --deadline D --reason 理由 [--until "YYYY-MM-DD HH:MM"]
    cuibao exempt --campaign C --unit 名称 --deadline D --undo

Without `--until` the unit is exempted (免报: no nudges, not missing); with it the unit's
due time becomes that time (延期), in the campaign's zone; a day alone keeps the
deadline's time of day. `--deadline` takes `obligation`, `obligation#N` or
`obligation@YYYY-MM-DD`. It says what it will do and asks before doing it (`--yes` does
not ask). The unit's liaison and deputy are told by the running bot.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conversation.i18n import Catalogue
    from services.overrides import OverrideProblem, OverrideView


def add_exempt_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register `exempt` on the CLI's subcommands (`commands` is add_subparsers()'s)."""
    exempt = commands.add_parser(
        "exempt", parents=[common], help="免报 or 延期 for one unit on one deadline, or undo it"
    )
    exempt.add_argument("--campaign", required=True, help="the campaign id")
    exempt.add_argument("--unit", required=True, help="the unit's name or id")
    exempt.add_argument(
        "--deadline", required=True, help="obligation, obligation#N or obligation@YYYY-MM-DD"
    )
    exempt.add_argument(
        "--until",
        metavar="'YYYY-MM-DD HH:MM'",
        help="延期: the unit's own due time (without it: 免报)",
    )
    exempt.add_argument("--reason", default="", help="why (stored, and told to the unit)")
    exempt.add_argument(
        "--undo", action="store_true", help="withdraw the unit's 免报 / 延期 on this deadline"
    )
    exempt.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    exempt.set_defaults(run=exempt_command)


def exempt_command(args: argparse.Namespace) -> int:
    from bot.cli_common import UsageError, database_setup
    from bot.composition import open_services
    from domain.status import OverrideKind
    from services.overrides import (
        OverrideProblem,
        OverrideRequest,
        parse_until,
    )

    _settings, catalogue, language, url = database_setup(args)
    until = None
    if args.until is not None and not args.undo:
        until = parse_until(args.until)
        if until is None:
            raise UsageError(_problem(catalogue, language, OverrideProblem.BAD_TIME))
    now = datetime.now(UTC)

    async def go() -> OverrideView | OverrideProblem | None:
        async with open_services(_settings, url) as services:
            service = services.overrides
            unit = await service.find_unit(None, args.unit, args.campaign)
            if isinstance(unit, OverrideProblem):
                return unit
            deadline_id = await service.deadline_by_selector(unit, args.deadline)
            if isinstance(deadline_id, OverrideProblem):
                return deadline_id
            if args.undo:
                standing = [
                    x
                    for x in await service.standing(None, unit.id, now)
                    if x.deadline.deadline_id == deadline_id
                ]
                if not standing:
                    return OverrideProblem.NOTHING_TO_UNDO
                if not _confirmed(
                    args,
                    catalogue,
                    language,
                    catalogue.text(
                        "exempt.cli_undo_confirm",
                        language,
                        unit=unit.name,
                        what=_label(catalogue, language, standing[0]),
                    ),
                ):
                    return None
                return await service.undo(None, standing[0].override_id, now)
            kind = OverrideKind.EXTENDED if until is not None else OverrideKind.EXEMPT
            request = OverrideRequest(unit.id, deadline_id, kind, until, args.reason)
            found = await service.check(None, request, now)
            if isinstance(found, OverrideProblem):
                return found
            question = catalogue.text(
                f"exempt.confirm_{kind.value}",
                language,
                unit=unit.name,
                what=_label(catalogue, language, found),
                reason=found.reason,
            )
            if not _confirmed(args, catalogue, language, question):
                return None
            return await service.apply(None, request, now)

    result = asyncio.run(go())
    if result is None:
        raise UsageError(catalogue.text("exempt.cancelled", language))
    if isinstance(result, OverrideProblem):
        raise UsageError(
            _problem(
                catalogue,
                language,
                result,
                unit=args.unit,
                campaign=args.campaign,
                deadline=args.deadline,
            )
        )
    if result.undone:
        key = "exempt.undone" if result.changed else "exempt.already_undone"
    else:
        key = f"exempt.done_{result.kind.value}" if result.changed else "exempt.already"
    print(
        catalogue.text(
            key,
            language,
            unit=result.deadline.unit_name,
            what=_label(catalogue, language, result),
            reason=result.reason,
        )
    )
    return 0


def _confirmed(
    args: argparse.Namespace, catalogue: Catalogue, language: str, question: str
) -> bool:
    if args.yes:
        return True
    print(question)
    print(catalogue.text("exempt.cli_ask", language), end=" ", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes", "是", "确认")


def _label(catalogue: Catalogue, language: str, x: OverrideView) -> str:
    d = x.deadline
    return catalogue.deadline(d.title, d.seq, d.repeats, d.due, language)


def _problem(catalogue: Catalogue, language: str, problem: OverrideProblem, **params: str) -> str:
    return catalogue.text(
        f"exempt.problem_{problem.value}",
        language,
        **{"unit": "", "campaign": "", "deadline": "", **params},
    )
