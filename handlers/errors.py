"""One error handler: log first, tell the person something useful (never a traceback), and
tell an operator, once per kind of error in a while, so a failure does not go unnoticed."""

from __future__ import annotations

import logging
import time

from telegram import Update

from handlers.context import CustomContext

log = logging.getLogger("cuibao.errors")
OPERATOR_EVERY = 600.0  # seconds between two reports of the same kind of error
_told: dict[str, float] = {}


async def on_error(update: object, context: CustomContext) -> None:
    # Never the update itself: it carries people's answers and names.
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id, context.services.catalogue.text("error.generic")
            )
        except Exception:  # the chat may be the very thing that failed
            log.exception("could not tell the user about the error")
    await tell_operators(context, update_id)


async def tell_operators(context: CustomContext, update_id: int | None) -> None:
    error = context.error
    kind = type(error).__name__ if error is not None else "Error"
    where = _where(error)
    key = f"{kind}@{where}"
    now = time.monotonic()
    if now - _told.get(key, -OPERATOR_EVERY) < OPERATOR_EVERY:
        return
    _told[key] = now
    services = context.services
    text = services.catalogue.text(
        "error.operator",
        kind=kind,
        where=where,
        update=update_id if update_id is not None else "-",
    )
    for operator in services.settings.operators:
        try:
            await context.bot.send_message(int(operator), text)
        except Exception:
            log.warning("could not tell operator %s about an error", operator, exc_info=True)


def _where(error: BaseException | None) -> str:
    """The innermost frame of cuibao's own code: file and line, nothing of the data."""
    tb = error.__traceback__ if error is not None else None
    where = "?"
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if "/site-packages/" not in name and "/lib/python" not in name:
            where = f"{name.rsplit('/', 2)[-2]}/{name.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where
