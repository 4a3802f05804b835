"""The command menus: one for liaisons (everyone by default), one for coordinators' chats."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat

from bot.i18n import LANGUAGES, Catalogue

LIAISON_COMMANDS = ("tasks", "submit", "blank", "mine", "language", "help")
COORDINATOR_COMMANDS = ("status", "missing", "remind", "review", "units", "invite", "export",
                        "tongbao", "plan", "digest", "language", "help")


def commands(names: tuple[str, ...], language: str, catalogue: Catalogue) -> list[BotCommand]:
    return [BotCommand(n, catalogue.text(f"command.{n}", language)) for n in names]


async def set_default_menus(bot: Bot, catalogue: Catalogue) -> None:
    scope = BotCommandScopeAllPrivateChats()
    # Telegram shows the variant matching the user's app language, else the one without.
    await bot.set_my_commands(commands(LIAISON_COMMANDS, catalogue.default, catalogue),
                              scope=scope)
    for language in LANGUAGES:
        await bot.set_my_commands(commands(LIAISON_COMMANDS, language, catalogue), scope=scope,
                                  language_code=language.split("-")[0])


async def set_menu_for(bot: Bot, chat_id: int, coordinator: bool,
                       catalogue: Catalogue | None = None) -> None:
    if not coordinator:
        return  # liaisons see the default menu
    catalogue = catalogue or Catalogue()
    scope = BotCommandScopeChat(chat_id)
    await bot.set_my_commands(commands(COORDINATOR_COMMANDS, catalogue.default, catalogue),
                              scope=scope)
    for language in LANGUAGES:
        await bot.set_my_commands(commands(COORDINATOR_COMMANDS, language, catalogue),
                                  scope=scope, language_code=language.split("-")[0])
