"""The docs tell the truth: settings, commands and the quick start."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z_]+)=", example, flags=re.M))
    assert listed == set(SETTINGS)


def test_every_setting_is_in_the_readme() -> None:
    for name in SETTINGS:
        assert f"`{name}`" in README


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)  # type: ignore[arg-type]


def test_readme_lists_every_command() -> None:
    for name in _commands():
        assert f"`heard {name}" in README, name


@pytest.mark.parametrize("command", [*_commands(), None])
def test_every_command_has_help(command: str | None) -> None:
    argv = [sys.executable, "-m", "bot.cli", *([command] if command else []), "--help"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert "usage: heard" in done.stdout


def test_quick_start_is_two_make_commands_and_ci_runs_the_test_one() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
