"""Commands by their Chinese (or English) words, for platforms without slash commands:
`报送` is /submit, `状态 打假` is /status 打假, `绑定 K7Q2M9` redeems an invitation.
The words come from the message catalogue (`keyword.<command>`, several split by |), in
every language at once: a liaison who chose English can still type 报送."""

from __future__ import annotations

import unicodedata
from functools import cache

from conversation.events import Command, Join
from conversation.i18n import LANGUAGES, Catalogue

JOIN = "join"
# The menu sent on 帮助 and after binding, as buttons (or numbers), by role.
LIAISON_MENU = ("submit", "tasks", "mine", "blank", "help")
COORDINATOR_MENU = (
    "status",
    "missing",
    "remind",
    "review",
    "export",
    "tongbao",
    "units",
    "invite",
    "help",
)
MENU = tuple(dict.fromkeys(LIAISON_MENU + COORDINATOR_MENU))  # a button carries its index


@cache
def _words(catalogue: Catalogue, commands: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for language in LANGUAGES:
        for command in commands:
            for word in catalogue.text(f"keyword.{command}", language).split("|"):
                if word.strip():
                    found.setdefault(word.strip().casefold(), command)
    return found


def command_of(
    text: str, catalogue: Catalogue, commands: tuple[str, ...]
) -> Command | Join | None:
    """The command a typed text names, with its arguments; None for anything else."""
    words = unicodedata.normalize("NFKC", text).split()
    if not words:
        return None
    head, args = words[0], tuple(words[1:])
    if head.startswith("/"):
        name = head[1:].split("@", 1)[0].casefold()
        if name == "start" and args:
            return Join(args[0])
        return Command(name, args)
    command = _words(catalogue, (*commands, JOIN)).get(head.casefold())
    if command == JOIN:
        return Join(args[0]) if len(args) == 1 else None
    return Command(command, args) if command is not None else None
