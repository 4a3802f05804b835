"""Choices on a platform without buttons: the buttons of a message become a numbered list
under it, kept as a half-done step, and what the person types next is matched against it
(the number, or the button's words). A number is taken as a choice only where the message
asked no typed answer: `5` under "how many cases?" is the answer 5, not option 5."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.ports import Button

STEP = "choices"
_DECORATION = re.compile(r"^[\W_]+", re.UNICODE)  # a leading emoji or mark: "✅ 确认提交"


@dataclass(frozen=True)
class Offered:
    buttons: tuple[Button, ...]
    numbers: bool  # may a bare number pick one

    def to_json(self) -> dict[str, Any]:
        return {"buttons": [[b.label, b.data] for b in self.buttons], "numbers": self.numbers}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Offered:
        return cls(
            tuple(Button(label, payload) for label, payload in data["buttons"]),
            bool(data["numbers"]),
        )

    def pick(self, typed: str) -> Button | None:
        """The button the typed text names; None when it names none."""
        text = unicodedata.normalize("NFKC", typed).strip()
        if self.numbers and text.isdecimal():
            index = int(text) - 1
            return self.buttons[index] if 0 <= index < len(self.buttons) else None
        wanted = _words(text)
        found = [b for b in self.buttons if _words(b.label) == wanted]
        return found[0] if len(found) == 1 else None


def listed(
    text: str, buttons: Sequence[Sequence[Button]], heading: str, *, numbers: bool
) -> tuple[str, Offered]:
    """The text with its buttons as a list below it: numbered, or (under a question that
    wants a typed answer) by their words alone."""
    flat = tuple(b for row in buttons for b in row)
    if numbers and [b.label for b in flat] == [str(i) for i in range(1, len(flat) + 1)]:
        return f"{text}\n{heading}", Offered(flat, numbers)  # the text numbers them already
    items = [f"{i}. {b.label}" if numbers else f"· {b.label}" for i, b in enumerate(flat, start=1)]
    return "\n".join([text, heading, *items]), Offered(flat, numbers)


def _words(label: str) -> str:
    return _DECORATION.sub("", unicodedata.normalize("NFKC", label)).strip().casefold()
