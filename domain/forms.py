"""Report forms: typed fields and the validation of a liaison's typed answers.

Validation returns error codes with parameters, never sentences: the message catalogue
turns them into the user's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any


class FieldType(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    TEXT = "text"
    LONGTEXT = "longtext"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    DATE = "date"
    FILE = "file"


TEXT_MAX = 200
LONGTEXT_MAX = 4000
# Counts and money in a district report never approach this; a bigger figure is a typo.
NUMBER_ABS_MAX = Decimal(10) ** 13

Answer = int | str | list[str] | None
"""A validated answer as stored: int, decimal as a plain string, text, ISO date, choices."""


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    type: FieldType
    required: bool = True
    help: str = ""
    unit: str = ""  # shown after the number and in export headers: 件, 元, 万元, 人次
    min: Decimal | None = None
    max: Decimal | None = None
    places: int = 2  # decimals only
    max_length: int | None = None  # text only
    options: tuple[str, ...] = ()  # choices only
    max_files: int = 5  # files only

    @property
    def is_numeric(self) -> bool:
        return self.type in (FieldType.INTEGER, FieldType.DECIMAL)

    @property
    def text_limit(self) -> int:
        if self.max_length is not None:
            return self.max_length
        return LONGTEXT_MAX if self.type is FieldType.LONGTEXT else TEXT_MAX


@dataclass(frozen=True)
class Form:
    id: str
    title: str
    fields: tuple[Field, ...]
    allow_nil: bool = False  # 零报告: "nothing to report this time" is one tap
    description: str = ""

    def field(self, field_id: str) -> Field:
        return next(f for f in self.fields if f.id == field_id)

    @property
    def typed_fields(self) -> tuple[Field, ...]:
        """Fields answered by typing or tapping, in order; files are collected apart."""
        return tuple(f for f in self.fields if f.type is not FieldType.FILE)

    @property
    def file_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.type is FieldType.FILE)


@dataclass(frozen=True)
class Invalid:
    """Why an answer was refused: a catalogue key under `invalid.` and its parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Valid:
    value: Answer


Checked = Valid | Invalid

_SKIP_WORDS = {"-", "无", "略", "skip", "none"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_OPTION_NUMBER = re.compile(r"[0-9]{1,4}")
_DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?"),
    re.compile(r"(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?"),
    re.compile(r"(?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"),
)


def normalise(raw: str) -> str:
    """Fold full-width digits and punctuation (phone keyboards send both) and trim."""
    return unicodedata.normalize("NFKC", raw).strip()


def check_answer(spec: Field, raw: str, today: date) -> Checked:
    """Validate one typed answer; `today` completes a date typed without a year."""
    text = normalise(raw)
    if not text or (not spec.required and text.lower() in _SKIP_WORDS):
        return Valid(None) if not spec.required else Invalid("required")
    match spec.type:
        case FieldType.INTEGER:
            return _check_integer(spec, text)
        case FieldType.DECIMAL:
            return _check_decimal(spec, text)
        case FieldType.TEXT | FieldType.LONGTEXT:
            return _check_text(spec, raw.strip())
        case FieldType.CHOICE:
            return _check_choice(spec, text)
        case FieldType.MULTICHOICE:
            return _check_multichoice(spec, text)
        case FieldType.DATE:
            return _check_date(text, today)
        case FieldType.FILE:
            return Invalid("file_expected")


_COUNT_SUFFIXES = ("人次", "户次", "件", "个", "人", "户", "次", "起", "家")
_MONEY_SUFFIXES = ("万元", "元", "万")
_MAX_DIGITS = 20  # beyond this nobody means a real figure; int() would also refuse >4300


def _strip_unit(spec: Field, text: str) -> str | Invalid:
    """Drop a unit typed after the number; refuse one that changes its meaning (35000元
    on a 万元 field is not 35000 万元)."""
    text = text.replace(",", "").replace(" ", "")
    if spec.unit and text.endswith(spec.unit):
        return text[: -len(spec.unit)]
    for suffix in _MONEY_SUFFIXES:
        if text.endswith(suffix):
            if spec.unit == "万元" and suffix == "万":
                return text[: -len(suffix)]
            return Invalid("wrong_unit", {"unit": spec.unit or "—"})
    for suffix in _COUNT_SUFFIXES:
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def _in_range(spec: Field, value: Decimal) -> Invalid | None:
    if abs(value) >= NUMBER_ABS_MAX:
        return Invalid("too_large")
    if spec.min is not None and value < spec.min:
        if spec.min == 0:
            return Invalid("negative")
        return Invalid("below_min", {"min": _plain(spec.min)})
    if spec.max is not None and value > spec.max:
        return Invalid("above_max", {"max": _plain(spec.max)})
    return None


def _check_integer(spec: Field, text: str) -> Checked:
    digits = _strip_unit(spec, text)
    if isinstance(digits, Invalid):
        return digits
    if len(digits) > _MAX_DIGITS and _DECIMAL.fullmatch(digits):
        return Invalid("too_large")
    if not _INTEGER.fullmatch(digits):
        if _DECIMAL.fullmatch(digits):
            return Invalid("not_whole")
        return Invalid("not_a_number")
    value = int(digits)
    problem = _in_range(spec, Decimal(value))
    return problem or Valid(value)


def _check_decimal(spec: Field, text: str) -> Checked:
    digits = _strip_unit(spec, text)
    if isinstance(digits, Invalid):
        return digits
    if len(digits) > _MAX_DIGITS and _DECIMAL.fullmatch(digits):
        return Invalid("too_large")
    # The regex refuses NaN, Infinity and exponents (1e309) before Decimal sees them.
    if not _DECIMAL.fullmatch(digits):
        return Invalid("not_a_number")
    try:
        value = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the regex admits only plain decimals
        return Invalid("not_a_number")
    if value.is_zero():
        value = abs(value)  # "-0" and "-0.0" are stored and shown as 0
    problem = _in_range(spec, value)
    if problem:
        return problem
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > spec.places:
        return Invalid("too_many_places", {"places": spec.places})
    return Valid(_plain(value))


def _check_text(spec: Field, text: str) -> Checked:
    text = _CONTROL.sub("", text).strip()
    if not text:
        return Invalid("required") if spec.required else Valid(None)
    if len(text) > spec.text_limit:
        return Invalid("too_long", {"max": spec.text_limit, "length": len(text)})
    return Valid(text)


def _match_option(spec: Field, text: str) -> str | None:
    for option in spec.options:
        # Typed answers are NFKC-folded, so compare with folded labels (（限期） vs (限期)).
        if text == option or text == normalise(option):
            return option
    # Only ASCII digits count as an option number: str.isdigit() also accepts Ethiopic ፩ or
    # superscripts, which int() refuses or reads differently (full-width ones are NFKC-folded).
    if _OPTION_NUMBER.fullmatch(text) and 1 <= int(text) <= len(spec.options):
        return spec.options[int(text) - 1]
    return None


def _check_choice(spec: Field, text: str) -> Checked:
    option = _match_option(spec, text)
    return Valid(option) if option else Invalid("not_an_option")


def _check_multichoice(spec: Field, text: str) -> Checked:
    picked: list[str] = []
    for part in re.split(r"[,;、\s]+", text):
        if not part:
            continue
        option = _match_option(spec, part)
        if option is None:
            return Invalid("not_an_option")
        if option not in picked:
            picked.append(option)
    return Valid(picked) if picked else Invalid("required")


def _check_date(text: str, today: date) -> Checked:
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            year = int(m.group("y")) if "y" in pattern.groupindex else today.year
            try:
                return Valid(date(year, int(m.group("m")), int(m.group("d"))).isoformat())
            except ValueError:
                return Invalid("no_such_date")
    return Invalid("not_a_date")


def check_choice_index(spec: Field, index: int) -> Checked:
    """Validate a tapped option by index: a forged or stale button gets `not_an_option`."""
    if 0 <= index < len(spec.options):
        return Valid(spec.options[index])
    return Invalid("not_an_option")


def missing_required(form: Form, answers: dict[str, Answer]) -> list[str]:
    """Ids of required typed fields with no answer yet, in form order."""
    return [f.id for f in form.typed_fields if f.required and answers.get(f.id) is None]


def _plain(value: Decimal) -> str:
    """A decimal as people write it: no exponent, no trailing zeros beyond the point."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
