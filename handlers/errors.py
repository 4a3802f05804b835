"""One error handler: log first, then tell the person something useful (never a traceback)."""

from __future__ import annotations

import logging

from telegram import Update

from handlers.context import CustomContext

log = logging.getLogger("cuibao.errors")


async def on_error(update: object, context: CustomContext) -> None:
    # Never the update itself: it carries people's answers and names.
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    services = context.services
    try:
        await context.bot.send_message(update.effective_chat.id,
                                       services.catalogue.text("error.generic"))
    except Exception:  # the chat may be the very thing that failed
        log.exception("could not tell the user about the error")
