"""Sentences and clauses of normalised notice text, as (start, end) spans."""

from __future__ import annotations

import re

Span = tuple[int, int]

_SENTENCE_END = re.compile(r"[。;!?\n]")
_CLAUSE_END = re.compile(r"[,:。;!?\n]")


def sentences(text: str) -> list[Span]:
    """Sentence spans, trimmed of surrounding spaces; a line break always ends a sentence."""
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        _append_trimmed(text, start, match.end(), spans)
        start = match.end()
    _append_trimmed(text, start, len(text), spans)
    return spans


def paragraphs(text: str) -> list[Span]:
    """Line spans that hold some text."""
    spans: list[Span] = []
    start = 0
    for line in text.split("\n"):
        _append_trimmed(text, start, start + len(line), spans)
        start += len(line) + 1
    return spans


def _append_trimmed(text: str, start: int, end: int, spans: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def clause_start(text: str, pos: int, floor: int) -> int:
    """Start of the comma clause holding pos, never before floor; skips an opening bracket."""
    start = pos
    while start > floor and not _CLAUSE_END.match(text[start - 1]):
        start -= 1
    depth = 0
    for index in range(pos - 1, start - 1, -1):
        if text[index] == ")":
            depth += 1
        elif text[index] == "(":
            if depth == 0:
                return index + 1
            depth -= 1
    return start


def clause_end(text: str, pos: int, ceiling: int) -> int:
    """End of the comma clause holding pos, never after ceiling; brackets are kept whole."""
    depth = 0
    for index in range(pos, ceiling):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and _CLAUSE_END.match(char):
            return index
    return ceiling


def containing(spans: list[Span], pos: int) -> Span | None:
    """The span that holds pos."""
    for start, end in spans:
        if start <= pos < end:
            return start, end
    return None


_HEADING = re.compile(r"^[ \t]*(?:[一二三四五六七八九十]{1,3}|\d{1,2})[、.](?!\d)", re.MULTILINE)


def sections(text: str) -> list[Span]:
    """Spans between top-level headings (一、 二、 ...), the unit a notice states rules for."""
    starts = [0] + [m.start() for m in _HEADING.finditer(text) if m.start() > 0]
    ends = [*starts[1:], len(text)]
    return list(zip(starts, ends, strict=True))
