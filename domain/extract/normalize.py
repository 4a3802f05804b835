"""One canonical spelling of a notice's text that still knows where each character came from."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from domain.extract.numerals import numeral_runs

# Characters NFKC leaves alone that notices use interchangeably with ASCII ones.
_EXTRA = str.maketrans({"〜": "~", "–": "-", "―": "—", "－": "-", "\u3000": " "})
_DROPPED = {"\r", "\u200b", "\u200c", "\u200d", "\ufeff"}


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus, for every position, the offset in the original text."""

    text: str
    original: str
    origin: tuple[int, ...]

    def original_span(self, start: int, end: int) -> str:
        """The original text behind the normalised span [start, end)."""
        return self.original[self.origin[start] : self.origin[end]]


def normalize(original: str) -> Normalized:
    """NFKC, ASCII punctuation and Arabic numerals, so rules need one spelling of each thing."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(original):
        if char in _DROPPED:
            continue
        piece = unicodedata.normalize("NFKC", char).translate(_EXTRA)
        chars.extend(piece)
        origin.extend([index] * len(piece))
    first = "".join(chars)
    origin.append(len(original))

    # Rewrite Chinese numerals in a second pass; each rewritten run maps back to its start.
    text_parts: list[str] = []
    final_origin: list[int] = []
    cursor = 0
    for start, end, arabic in numeral_runs(first):
        text_parts.append(first[cursor:start])
        final_origin.extend(origin[cursor:start])
        text_parts.append(arabic)
        final_origin.extend([origin[start]] * len(arabic))
        cursor = end
    text_parts.append(first[cursor:])
    final_origin.extend(origin[cursor:])
    return Normalized("".join(text_parts), original, tuple(final_origin))
