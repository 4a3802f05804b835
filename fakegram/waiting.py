"""Wait helpers, so tests never sleep: they re-check on every change the fake records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from fakegram.state import CallbackAnswer, ChatMessage
from fakegram.world import World

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A wait helper gave up; the message shows what the fake saw, to debug the test."""


class WaitingWorld(World):
    """World plus waits.  ``timeout`` is a plain argument (ruff ASYNC109 silenced) because a
    test reads better as ``wait_for(chat, pred, timeout=2)`` than wrapped in asyncio.timeout,
    and the timeout message can then describe what the chat contained."""

    async def wait_until(
        self,
        probe: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        describe: str | Callable[[], str] = "condition",
    ) -> T:
        """Re-evaluate ``probe`` on every change until it returns something truthy."""
        loop_time = asyncio.get_running_loop().time
        deadline = loop_time() + timeout
        while True:
            result = probe()
            if result:
                return result
            remaining = deadline - loop_time()
            if remaining <= 0:
                text = describe() if callable(describe) else describe
                raise WaitTimeout(f"fakegram: timed out after {timeout}s waiting for {text}")
            await self.changed.wait(remaining)

    def _describe_chat(self, chat_id: int) -> str:
        lines = [
            f"  #{m.message_id} {'bot' if m.from_bot else 'user'}: {m.content[:120]!r}"
            + (f" buttons={m.button_texts}" if m.buttons else "")
            for m in self.history(chat_id)[-15:]
        ]
        return "\n".join(lines) or "  (no messages)"

    async def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[ChatMessage], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        after: int | ChatMessage | None = None,
    ) -> ChatMessage:
        """The first bot message in the chat (newer than ``after``) matching ``predicate``."""
        after_id = after.message_id if isinstance(after, ChatMessage) else (after or 0)

        def probe() -> ChatMessage | None:
            for message in self.sent(chat_id):
                if message.message_id > after_id and (predicate is None or predicate(message)):
                    return message
            return None

        return await self.wait_until(
            probe,
            timeout,
            describe=lambda: (
                f"a bot message in chat {chat_id} after #{after_id} matching the predicate; "
                f"chat so far:\n{self._describe_chat(chat_id)}"
            ),
        )

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        after: int | ChatMessage | None = None,
    ) -> list[ChatMessage]:
        """Wait until the bot sent at least ``count`` messages (after ``after``); return all."""
        after_id = after.message_id if isinstance(after, ChatMessage) else (after or 0)

        def probe() -> list[ChatMessage] | None:
            found = [m for m in self.sent(chat_id) if m.message_id > after_id]
            return found if found and len(found) >= count else None

        return await self.wait_until(
            probe,
            timeout,
            describe=lambda: (
                f"{count} bot messages in chat {chat_id} after #{after_id}; chat so far:\n"
                f"{self._describe_chat(chat_id)}"
            ),
        )

    async def wait_for_callback_answer(
        self,
        callback_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        return await self.wait_until(
            lambda: self.callbacks[callback_id].answer,
            timeout,
            describe=f"an answer to callback query {callback_id}",
        )

    async def wait_for_action(
        self,
        chat_id: int,
        action: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        def probe() -> str | None:
            actions = self.chat(chat_id).actions
            matching = [a for a in actions if action is None or a == action]
            return matching[-1] if matching else None

        return await self.wait_until(
            probe, timeout, describe=f"chat action {action or '(any)'} in {chat_id}"
        )
