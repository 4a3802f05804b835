"""Plain text and files: who they are meant for depends on what the sender is doing."""

from __future__ import annotations

from telegram import Update

from bot.context import CustomContext
from handlers import coordinator, liaison, plans


async def on_text(update: Update, context: CustomContext) -> None:
    if await coordinator.on_review_comment(update, context):
        return
    if await plans.on_pasted_text(update, context):
        return
    await liaison.on_text(update, context)


async def on_button(update: Update, context: CustomContext) -> None:
    query = update.callback_query
    prefix = (query.data or "").split(":", 1)[0] if query else ""
    if prefix in COORDINATOR_PREFIXES:
        await coordinator.on_button(update, context)
    else:
        await liaison.on_button(update, context)


COORDINATOR_PREFIXES = frozenset({"st", "rm", "rmok", "rvl", "rv"})
