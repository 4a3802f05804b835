"""The README's two commands are the ones CI and a new user run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.+?)\n```", section)


def test_the_readme_gives_exactly_two_setup_commands() -> None:
    commands = _commands()

    assert len(commands) == 2
    assert all(c.startswith("python3 -m venv .venv && ") for c in commands)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = _commands()[1]
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")

    assert "pytest" in test_command
    assert test_command in ci_script.splitlines()
