"""Plain text and files: who they are meant for depends on what the sender is doing."""

from __future__ import annotations

from telegram import Update

from bot.context import CustomContext
from handlers import coordinator, liaison, plans
from handlers.common import ignore_edit, turn


async def on_text(update: Update, context: CustomContext) -> None:
    # An edited message is never an answer (nor a reason for returning a report): it
    # would land on whatever question is open now, not the one it first answered.
    if await ignore_edit(update, context):
        return
    t = await turn(update, context)  # once: every text of a liaison comes this way
    if t is None:
        return
    if await coordinator.on_review_comment(t):
        return
    if await plans.on_pasted_text(update, context):
        return
    await liaison.on_text(update, context, t)


async def on_button(update: Update, context: CustomContext) -> None:
    query = update.callback_query
    prefix = (query.data or "").split(":", 1)[0] if query else ""
    if prefix in COORDINATOR_PREFIXES:
        await coordinator.on_button(update, context)
    else:
        await liaison.on_button(update, context)


COORDINATOR_PREFIXES = frozenset({"st", "rm", "rmok", "rvl", "rv"})
