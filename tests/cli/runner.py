"""Running `payerkg` commands in tests: in-process with typer's CliRunner (the default), or as a
real child process (`python -m payerkg.cli.main`) for the few smoke tests of the entry point."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from payerkg.cli.main import command_line


@dataclass(frozen=True)
class Ran:
    """What a command did, with the same names as ``subprocess.CompletedProcess``."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> Ran:
    """Run one command in this process, on the command line `payerkg` builds for it. An
    exception the command did not turn into an exit code is raised here, as a child process
    would have printed a traceback."""
    result = CliRunner().invoke(command_line(args), list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def run_cli_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run one command as `python -m payerkg.cli.main`, a separate interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "payerkg.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
