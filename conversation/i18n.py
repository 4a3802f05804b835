"""The message catalogue: every user-facing text, in gettext .po files read with Babel.

Message ids are stable keys (``invalid.not_a_number``), so a text can be reworded in one
language without touching code or the other language. zh-CN is the default; a key
missing from a language falls back to zh-CN, then to the key itself (never a crash).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po

if TYPE_CHECKING:
    from domain.plan_errors import PlanError
    from storage.unit_list import UnitListError

LOCALES = Path(__file__).with_name("locales")
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "en")
_BABEL_LOCALE = {"zh-CN": "zh_Hans_CN", "en": "en"}


def normalise_language(code: str | None) -> str:
    """Map a Telegram `language_code` or a config value onto a supported language."""
    if not code:
        return DEFAULT_LANGUAGE
    code = code.replace("_", "-").lower()
    if code.startswith("zh"):
        return "zh-CN"
    if code.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


@cache
def _messages(language: str) -> dict[str, str]:
    path = LOCALES / f"{language.replace('-', '_')}.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=_BABEL_LOCALE[language])
    return {str(msg.id): str(msg.string) for msg in catalog if msg.id and msg.string}


class Catalogue:
    def __init__(self, default_language: str = DEFAULT_LANGUAGE) -> None:
        self.default = normalise_language(default_language)

    def text(self, key: str, language: str | None = None, /, **params: Any) -> str:
        lang = normalise_language(language) if language else self.default
        template = _messages(lang).get(key) or _messages(DEFAULT_LANGUAGE).get(key) or key
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            return template

    def has(self, key: str) -> bool:
        return key in _messages(DEFAULT_LANGUAGE)

    def date(self, day: date, language: str | None = None) -> str:
        lang = normalise_language(language) if language else self.default
        if lang == "zh-CN":
            return f"{day.year}年{day.month}月{day.day}日"
        return format_date(day, "medium", locale=_BABEL_LOCALE[lang])

    def deadline(
        self, title: str, seq: int, repeats: bool, due: datetime, language: str | None = None
    ) -> str:
        """A deadline as every text names it: 信息周报第3期(12月15日 周四 15:00前), or
        信息周报 #3 (due Thu 15 Dec 15:00); the one place this label is made."""
        if repeats:
            title = self.text("deadline.repeating", language, title=title, seq=seq)
        return self.text("deadline.label", language, title=title, due=self.due(due, language))

    def due(self, instant: datetime, language: str | None = None) -> str:
        """A due time inside a label (no nested brackets): 12月15日 周四 15:00."""
        lang = normalise_language(language) if language else self.default
        if lang == "zh-CN":
            weekday = "一二三四五六日"[instant.isoweekday() - 1]
            return f"{instant.month}月{instant.day}日 周{weekday} {instant:%H:%M}"
        return self.when(instant, lang)

    def when(self, instant: datetime, language: str | None = None) -> str:
        """An instant as people read a deadline: 12月15日(周四) 17:30 / Thu 15 Dec 17:30."""
        lang = normalise_language(language) if language else self.default
        if lang == "zh-CN":
            weekday = "一二三四五六日"[instant.isoweekday() - 1]
            return f"{instant.month}月{instant.day}日(周{weekday}) {instant:%H:%M}"
        return format_datetime(instant, "EEE d MMM HH:mm", locale=_BABEL_LOCALE[lang])


# The type names a plan error's `expected` / `got` carry: the parser's own words, and
# Python's for the export mapping. Each is a `type.*` text.
_TYPE_KEYS = {
    "string": "string",
    "str": "string",
    "integer": "integer",
    "int": "integer",
    "number": "number",
    "float": "number",
    "true/false": "boolean",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "table": "table",
    "dict": "table",
    "array of tables": "array_of_tables",
    "date": "date",
    "time": "time",
    "date-time": "date_time",
    "datetime": "date_time",
}


def type_names(catalogue: Catalogue, names: str, language: str | None = None) -> str:
    """``integer or string`` in the reader's language (names not known stay as they are)."""
    parts = [
        catalogue.text(f"type.{_TYPE_KEYS[n]}", language) if n in _TYPE_KEYS else n
        for n in str(names).split(" or ")
    ]
    return catalogue.text("type.or", language).join(parts)


def plan_error_text(
    catalogue: Catalogue, error: PlanError, language: str | None = None, source: str | None = None
) -> str:
    """The one line a plan (or its export mapping) is refused with: file, place, cause."""
    params = dict(error.params)
    for key in ("expected", "got"):
        if key in params:
            params[key] = type_names(catalogue, params[key], language)
    message = catalogue.text(f"plan.{error.code}", language, **params)
    return catalogue.text(
        "plan.error",
        language,
        source=error.source if source is None else source,
        where=error.where,
        message=message,
    )


def unit_list_error_text(
    catalogue: Catalogue, file_name: str, problem: UnitListError, language: str | None = None
) -> str:
    """The one line a unit list (.xlsx 通讯录) is refused with: file, row and column, cause."""
    message = catalogue.text(f"unitlist.{problem.code}", language, **problem.params)
    if problem.row and problem.column:
        where = catalogue.text(
            "unitlist.at_cell", language, row=problem.row, column=problem.column
        )
    elif problem.row:
        where = catalogue.text("unitlist.at_row", language, row=problem.row)
    else:
        where = ""
    return catalogue.text(
        "unitlist.refused", language, file=file_name, where=where, message=message
    )
