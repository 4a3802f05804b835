"""Messages to other people (nudges, notices of a return) on a platform without buttons:
their buttons become a numbered list, remembered for the recipient like a reply's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from conversation.choices import STEP, listed
from conversation.i18n import Catalogue
from services.ports import Button, Delivery, Notifier
from services.steps import StepService


class ListingNotifier:
    """Wraps a platform's notifier; sends each message's buttons as a numbered list."""

    def __init__(
        self,
        inner: Notifier,
        platform: str,
        steps: StepService,
        catalogue: Catalogue,
        clock: Callable[[], datetime],
    ) -> None:
        self.inner, self.platform, self.steps = inner, platform, steps
        self.catalogue, self.clock = catalogue, clock

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        if not any(buttons):
            return await self.inner.send(external_id, text)
        listed_text, offered = listed(
            text, buttons, self.catalogue.text("choices.heading"), numbers=True
        )
        # Remembered before the send: the answer may come before the send returns.
        await self.steps.put_for(self.platform, external_id, STEP, offered.to_json(), self.clock())
        return await self.inner.send(external_id, listed_text)
