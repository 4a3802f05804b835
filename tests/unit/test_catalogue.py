"""Every text the code asks for exists, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conversation.i18n import LANGUAGES, Catalogue, _messages, normalise_language

ROOT = Path(__file__).resolve().parents[2]
LITERAL_KEY = re.compile(r"""(?:\bt|\.text|\bt\.t)\(\s*["']([a-z_]+(?:\.[a-z_\-]+)+)["']""")
PREFIXES = (
    "plan.",
    "warning.",
    "invalid.",
    "problem.",
    "state.",
    "role.",
    "command.",
    "draft.hint.",
    "notice.",
    "language.",
)


def _keys_in_code() -> set[str]:
    keys: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            keys |= set(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    return keys


def test_both_languages_have_exactly_the_same_keys() -> None:
    assert set(_messages("zh-CN")) == set(_messages("en"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_literal_key_used_in_the_code_has_a_text(language: str) -> None:
    missing = sorted(k for k in _keys_in_code() if k not in _messages(language))

    assert missing == []


def test_placeholders_agree_between_the_languages() -> None:
    field = re.compile(r"\{(\w+)\}")
    zh, en = _messages("zh-CN"), _messages("en")

    differing = [k for k in zh if set(field.findall(zh[k])) != set(field.findall(en[k]))]

    assert differing == []


def test_dynamic_key_families_are_complete() -> None:
    from domain.forms import FieldType
    from domain.status import State
    from services.reports import Problem

    needed = (
        {f"draft.hint.{t.value}" for t in FieldType}
        | {f"state.{s.value}" for s in State}
        | {f"problem.{p.value}" for p in Problem}
    )

    assert needed - set(_messages("zh-CN")) == set()


def test_chinese_is_the_default_and_telegram_codes_map_onto_the_two_languages() -> None:
    assert Catalogue().text("tasks.none") == "目前没有待办的报送事项。"
    assert normalise_language("zh-hans") == "zh-CN"
    assert normalise_language("en-GB") == "en"
    assert normalise_language("fr") == "zh-CN"


def test_a_missing_parameter_never_crashes_rendering() -> None:
    assert "{count}" in Catalogue().text("missing.header", what="周报")


def test_prefix_families_used_in_code_exist() -> None:
    assert all(any(k.startswith(p) for k in _messages("zh-CN")) for p in PREFIXES)
