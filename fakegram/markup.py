"""Telegram text formatting: turn HTML / MarkdownV2 / Markdown into (plain text, entities).

The fake validates markup the way Telegram does because the most common production bug of a
bot is an unescaped ``<`` or ``.`` in user-provided text: real Telegram answers 400 "can't parse
entities" and the message is lost.  Offsets are in UTF-16 code units like the Bot API.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]


class MarkupError(ValueError):
    """Raised with a Telegram-like description (without the "Bad Request: " prefix)."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _Builder:
    parts: list[str] = field(default_factory=list)
    offset: int = 0
    entities: list[JSONDict] = field(default_factory=list)

    def add(self, chunk: str) -> None:
        if chunk:
            self.parts.append(chunk)
            self.offset += utf16_len(chunk)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        # Telegram silently drops empty entities.
        if self.offset > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.offset - start, **extra}
            )

    def result(self) -> tuple[str, list[JSONDict]]:
        for entity in self.entities:
            entity.pop("_language", None)
        ordered = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), ordered


# --------------------------------------------------------------------------- HTML

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_OTHER_TAGS = {"a", "span", "blockquote", "tg-emoji"}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*/?>")
_ATTR_RE = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def _attrs(raw: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTR_RE.finditer(raw):
        value = next((g for g in match.groups()[1:] if g is not None), "")
        found[match.group(1).lower()] = html.unescape(value)
    return found


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    out = _Builder()
    stack: list[tuple[str, dict[str, str], int, int]] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "<":
            match = _TAG_RE.match(text, pos)
            at = _byte_offset(text, pos)
            if match is None:
                raise MarkupError(f"Unexpected end of name token at byte offset {at}")
            closing, name, raw_attrs = match.group(1), match.group(2).lower(), match.group(3)
            if not closing:
                if name not in _SIMPLE_TAGS and name not in _OTHER_TAGS:
                    raise MarkupError(f'Unsupported start tag "{name}" at byte offset {at}')
                attrs = _attrs(raw_attrs)
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise MarkupError(
                        f'Tag "span" must have class "tg-spoiler" at byte offset {at}'
                    )
                stack.append((name, attrs, out.offset, len(out.entities)))
            else:
                if not stack:
                    raise MarkupError(f"Unexpected end tag at byte offset {at}")
                open_name, attrs, start, first_child = stack.pop()
                if open_name != name:
                    raise MarkupError(
                        f"Unmatched end tag at byte offset {at}, expected "
                        f'"</{open_name}>", found "</{name}>"'
                    )
                _close_html_tag(out, open_name, attrs, start, first_child)
            pos = match.end()
        elif char == "&":
            entity = _ENTITY_RE.match(text, pos)
            if entity is None:
                # Telegram tolerates a bare ampersand that does not start an entity.
                out.add("&")
                pos += 1
            else:
                out.add(html.unescape(entity.group(0)))
                pos = entity.end()
        else:
            nxt = min(
                (i for i in (text.find("<", pos), text.find("&", pos)) if i != -1),
                default=len(text),
            )
            out.add(text[pos:nxt])
            pos = nxt
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _close_html_tag(
    out: _Builder, name: str, attrs: dict[str, str], start: int, first_child: int
) -> None:
    if name == "a":
        href = attrs.get("href")
        if href:
            out.entity("text_link", start, url=href)
    elif name == "span":
        out.entity("spoiler", start)
    elif name == "blockquote":
        out.entity("expandable_blockquote" if "expandable" in attrs else "blockquote", start)
    elif name == "tg-emoji":
        out.entity("custom_emoji", start, custom_emoji_id=attrs.get("emoji-id", ""))
    elif name == "pre":
        # <pre><code class="language-x"> is one pre entity carrying the language.
        language = None
        for child in out.entities[first_child:]:
            if (
                child["type"] == "code"
                and child["offset"] == start
                and child["offset"] + child["length"] == out.offset
            ):
                language = child.get("_language")
                out.entities.remove(child)
                break
        extra = {"language": language} if language else {}
        out.entity("pre", start, **extra)
    elif name == "code":
        css = attrs.get("class", "")
        if css.startswith("language-"):
            out.entity("code", start, _language=css.removeprefix("language-"))
        else:
            out.entity("code", start)
    else:
        out.entity(_SIMPLE_TAGS[name], start)


# --------------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
}
_MDV2_TYPES = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


def _reserved(text: str, pos: int) -> MarkupError:
    return MarkupError(
        f"Character '{text[pos]}' is reserved and must be escaped with the preceding '\\'"
    )


def _read_code(text: str, pos: int, end_marker: str) -> tuple[str, int]:
    """Read escaped code content up to ``end_marker``; return (content, index after marker)."""
    chunk: list[str] = []
    while pos < len(text):
        if text[pos] == "\\" and pos + 1 < len(text):
            chunk.append(text[pos + 1])
            pos += 2
        elif text.startswith(end_marker, pos):
            return "".join(chunk), pos + len(end_marker)
        else:
            chunk.append(text[pos])
            pos += 1
    raise KeyError


def parse_markdown_v2(text: str) -> tuple[str, list[JSONDict]]:
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # marker, start offset, source index
    pos = 0
    quote_start: int | None = None
    while pos < len(text):
        char = text[pos]
        at_line_start = pos == 0 or text[pos - 1] == "\n"
        if at_line_start and quote_start is not None and char != ">":
            out.entity("blockquote", quote_start)
            quote_start = None
        if char == "\\":
            if pos + 1 >= len(text):
                raise MarkupError(
                    "Character '\\' is reserved and must be escaped with the preceding '\\'"
                )
            out.add(text[pos + 1])
            pos += 2
        elif text.startswith("```", pos):
            start = out.offset
            try:
                body, pos = _read_code(text, pos + 3, "```")
            except KeyError:
                raise MarkupError(
                    f"Can't find end of Pre entity at byte offset {_byte_offset(text, pos)}"
                ) from None
            language, sep, rest = body.partition("\n")
            if sep and language and " " not in language:
                body = rest
            else:
                language = ""
            out.add(body)
            out.entity("pre", start, **({"language": language} if language else {}))
        elif char == "`":
            start = out.offset
            try:
                body, pos = _read_code(text, pos + 1, "`")
            except KeyError:
                raise MarkupError(
                    f"Can't find end of Code entity at byte offset {_byte_offset(text, pos)}"
                ) from None
            out.add(body)
            out.entity("code", start)
        elif char == ">" and at_line_start:
            if quote_start is None:
                quote_start = out.offset
            pos += 1
        elif char == "]" and stack and stack[-1][0] == "[":
            _, start, _src = stack.pop()
            if not text.startswith("(", pos + 1):
                raise MarkupError(
                    f"Can't find end of TextUrl entity at byte offset {_byte_offset(text, _src)}"
                )
            try:
                url, pos = _read_code(text, pos + 2, ")")
            except KeyError:
                raise MarkupError(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, pos)}"
                ) from None
            out.entity("text_link", start, url=url)
        else:
            marker = text[pos : pos + 2] if text[pos : pos + 2] in ("__", "||") else char
            if marker in _MDV2_TYPES or marker == "[":
                if stack and stack[-1][0] == marker and marker != "[":
                    _, start, _src = stack.pop()
                    out.entity(_MDV2_TYPES[marker], start)
                else:
                    stack.append((marker, out.offset, pos))
                pos += len(marker)
            elif char in _MDV2_RESERVED:
                raise _reserved(text, pos)
            else:
                out.add(char)
                pos += 1
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    if stack:
        marker, _, src = stack[-1]
        raise MarkupError(
            f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset "
            f"{_byte_offset(text, src)}"
        )
    return out.result()


# --------------------------------------------------------------------------- legacy Markdown

_LEGACY = {"*": "bold", "_": "italic"}


def parse_markdown(text: str) -> tuple[str, list[JSONDict]]:
    out = _Builder()
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in "_*`[":
            out.add(text[pos + 1])
            pos += 2
            continue
        if char in _LEGACY or char == "`" or char == "[":
            marker = "```" if text.startswith("```", pos) else char
            closing = "]" if marker == "[" else marker
            end = text.find(closing, pos + len(marker))
            if end == -1:
                raise MarkupError(
                    "Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(text, pos)}"
                )
            body = text[pos + len(marker) : end]
            start = out.offset
            pos = end + len(closing)
            if marker == "[":
                url_match = re.match(r"\(([^)]*)\)", text[pos:])
                out.add(body)
                if url_match:
                    out.entity("text_link", start, url=url_match.group(1))
                    pos += url_match.end()
                continue
            if marker == "```":
                language, sep, rest = body.partition("\n")
                out.add(rest if sep and language else body)
                out.entity("pre", start, **({"language": language} if sep and language else {}))
                continue
            out.add(body)
            out.entity("code" if marker == "`" else _LEGACY[marker], start)
            continue
        out.add(char)
        pos += 1
    return out.result()


def render(text: str, parse_mode: str | None) -> tuple[str, list[JSONDict]]:
    """Return Telegram's view of ``text``: the plain text and its entities."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise MarkupError("unsupported parse_mode")
