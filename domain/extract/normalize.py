"""One canonical spelling of a notice's text that still knows where each character came from."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.extract.numerals import numeral_runs

# Characters NFKC leaves alone that notices use interchangeably with ASCII ones.
_EXTRA = str.maketrans({"〜": "~", "–": "-", "―": "—", "－": "-", "\u3000": " "})
_DROPPED = {"\r", "\u200b", "\u200c", "\u200d", "\ufeff"}
# A list number glued to a month, 2.9月10日报送: the dot is the enumerator's, not a decimal's.
_GLUED_ENUMERATOR = re.compile(r"(?m)^([ \t]*\d{1,2})\.(?=\d{1,2}月)")


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus, for every position, the offset in the original text."""

    text: str
    original: str
    origin: tuple[int, ...]

    def original_span(self, start: int, end: int) -> str:
        """The original text behind the normalised span [start, end)."""
        return self.original[self.origin[start] : self.origin[end]]


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or char in "〇○"


def _drop_spaces_between_han(chars: list[str], origin: list[int]) -> tuple[list[str], list[int]]:
    """请 各 社 区 于 6 月 10 日: spaces next to a Han character carry no meaning in Chinese."""
    following = [""] * len(chars)
    upcoming = ""
    for index in range(len(chars) - 1, -1, -1):
        following[index] = upcoming
        if chars[index] not in " \t":
            upcoming = chars[index]
    kept_chars: list[str] = []
    kept_origin: list[int] = []
    before = ""
    for index, char in enumerate(chars):
        after = following[index]
        if char in " \t":
            inside_line = before not in ("", "\n") and after not in ("", "\n")
            if inside_line and (_is_han(before) or _is_han(after)):
                continue
        else:
            before = char
        kept_chars.append(char)
        kept_origin.append(origin[index])
    return kept_chars, kept_origin


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
    chars, origin = _drop_spaces_between_han(chars, origin)
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
    text = _GLUED_ENUMERATOR.sub(r"\1、", "".join(text_parts))  # same length: origins hold
    return Normalized(text, original, tuple(final_origin))
