"""What `/digest <argument>` asks for: on, off, the default time or a time of one's own."""

from __future__ import annotations

from datetime import time

import pytest

from conversation.i18n import _messages
from services.digest import DigestAction, DigestChange, DigestProblem, parse_change


@pytest.mark.parametrize(
    ("argument", "at"),
    [
        ("17:30", time(17, 30)),
        ("9:05", time(9, 5)),
        ("17：30", time(17, 30)),
        ("17.30", time(17, 30)),
        ("1730", time(17, 30)),
        (" 08:00 ", time(8, 0)),
        ("00:00", time(0, 0)),
        ("23:59", time(23, 59)),
    ],
)
def test_a_time_in_the_usual_spellings_is_a_time_of_one_s_own(argument: str, at: time) -> None:
    assert parse_change(argument) == DigestChange(DigestAction.AT, at)


@pytest.mark.parametrize(
    ("argument", "action"),
    [
        ("off", DigestAction.MUTE),
        ("OFF", DigestAction.MUTE),
        ("关闭", DigestAction.MUTE),
        ("on", DigestAction.UNMUTE),
        ("开启", DigestAction.UNMUTE),
        ("default", DigestAction.DEFAULT),
        ("默认", DigestAction.DEFAULT),
    ],
)
def test_on_off_and_default_are_understood_in_both_languages(
    argument: str, action: DigestAction
) -> None:
    assert parse_change(argument) == DigestChange(action)


@pytest.mark.parametrize(
    ("argument", "problem"),
    [
        ("25:00", DigestProblem.BAD_TIME),
        ("17:60", DigestProblem.BAD_TIME),
        ("2400", DigestProblem.BAD_TIME),
        ("17", DigestProblem.UNKNOWN),
        ("173", DigestProblem.UNKNOWN),
        ("17:3", DigestProblem.UNKNOWN),
        ("soon", DigestProblem.UNKNOWN),
        ("17:30 18:00", DigestProblem.UNKNOWN),
        ("-1:00", DigestProblem.UNKNOWN),
    ],
)
def test_anything_else_is_refused_with_the_reason(argument: str, problem: DigestProblem) -> None:
    assert parse_change(argument) is problem


def test_every_problem_has_a_text_in_both_languages() -> None:
    for language in ("zh-CN", "en"):
        assert {f"digest.problem_{p.value}" for p in DigestProblem} <= set(_messages(language))
