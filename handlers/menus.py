"""The command menus: one for liaisons (everyone by default), one for coordinators' chats."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat, Update
from telegram.error import BadRequest

from conversation.i18n import LANGUAGES, Catalogue

log = logging.getLogger(__name__)

LIAISON_COMMANDS = ("tasks", "submit", "blank", "mine", "language", "help")
COORDINATOR_COMMANDS = (
    "status",
    "missing",
    "remind",
    "review",
    "units",
    "unit",
    "invite",
    "leaders",
    "revoke",
    "export",
    "tongbao",
    "plan",
    "digest",
    "language",
    "help",
)


def commands(names: tuple[str, ...], language: str, catalogue: Catalogue) -> list[BotCommand]:
    return [BotCommand(n, catalogue.text(f"command.{n}", language)) for n in names]


async def set_default_menus(bot: Bot, catalogue: Catalogue) -> None:
    scope = BotCommandScopeAllPrivateChats()
    # Telegram shows the variant matching the user's app language, else the one without.
    await bot.set_my_commands(
        commands(LIAISON_COMMANDS, catalogue.default, catalogue), scope=scope
    )
    for language in LANGUAGES:
        await bot.set_my_commands(
            commands(LIAISON_COMMANDS, language, catalogue),
            scope=scope,
            language_code=language.split("-")[0],
        )


async def set_menu_for(
    bot: Bot, chat_id: int, coordinator: bool, catalogue: Catalogue | None = None
) -> None:
    if not coordinator:
        return  # liaisons see the default menu
    catalogue = catalogue or Catalogue()
    scope = BotCommandScopeChat(chat_id)
    await bot.set_my_commands(
        commands(COORDINATOR_COMMANDS, catalogue.default, catalogue), scope=scope
    )
    for language in LANGUAGES:
        await bot.set_my_commands(
            commands(COORDINATOR_COMMANDS, language, catalogue),
            scope=scope,
            language_code=language.split("-")[0],
        )


class CoordinatorMenus:
    """The coordinators' menu, for the configured coordinators. Telegram refuses a menu for
    a chat it does not know ("chat not found": the person never opened the bot); that is no
    reason not to start, so such a menu is set when the person first writes."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.pending: set[int] = set()

    async def set_all(self, bot: Bot, user_ids: Iterable[int]) -> None:
        for user_id in user_ids:
            try:
                await set_menu_for(bot, user_id, True, self.catalogue)
            except BadRequest as exc:
                if "chat not found" not in exc.message.lower():
                    raise
                self.pending.add(user_id)
                log.warning(self.catalogue.text("menus.coordinator_not_started", id=user_id))

    async def on_update(self, update: Update, context: Any) -> None:
        """Before every handler: a pending coordinator who writes gets the menu now."""
        user = update.effective_user
        if user is None or user.id not in self.pending:
            return
        self.pending.discard(user.id)
        await set_menu_for(context.bot, user.id, True, self.catalogue)
        log.info("coordinator %s wrote to the bot: their command menu is set", user.id)
