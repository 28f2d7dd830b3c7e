"""The command line `payerkg` builds for each run: only the command asked for, from its own module;
every command for the full help or a name it does not know."""

from __future__ import annotations

import pytest
import typer.main
from typer.core import TyperGroup

from payerkg.cli.main import ELSEWHERE, command_line
from tests.cli.runner import run_cli

EVERY_COMMAND = {
    "lint", "values", "coverage", "validate", "cds-hook", "matrix", "conflicts", "review",
    "article-check", "serve", *ELSEWHERE,
}  # fmt: skip


def _names(args: list[str]) -> set[str]:
    group = typer.main.get_command(command_line(args))
    assert isinstance(group, TyperGroup)
    return set(group.commands)


@pytest.mark.parametrize("name", sorted(EVERY_COMMAND))
def test_a_command_asked_for_is_the_only_one_built(name: str) -> None:
    assert _names([name, "--help"]) == {name}


@pytest.mark.parametrize("args", [[], ["--help"], ["no-such-command"]])
def test_no_command_or_an_unknown_one_builds_every_command(args: list[str]) -> None:
    assert _names(args) == EVERY_COMMAND


def test_the_full_help_lists_every_command() -> None:
    ran = run_cli("--help")
    assert ran.returncode == 0
    assert all(name in ran.stdout for name in EVERY_COMMAND)


def test_an_unknown_command_is_refused_with_exit_2() -> None:
    ran = run_cli("no-such-command")
    assert ran.returncode == 2
    assert "No such command" in ran.stderr
