"""What starting a command or the service imports: the libraries only some requests need are
imported when one is made, not at start-up (each costs a tenth to a third of a second)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LATE = {
    "payerkg.api.app": ("fhir.resources", "rdflib.plugins.sparql", "pyshacl"),
    "payerkg.cli.main": ("fastapi", "fhir.resources", "rdflib.plugins.sparql", "pyshacl", "jinja2"),
}
"""Per entry point, the libraries it must not import until a request or command needs them."""


@pytest.mark.parametrize("module", sorted(LATE))
def test_start_up_leaves_out_what_only_some_requests_need(module: str) -> None:
    names = list(LATE[module])
    probe = f"import sys, json, {module}; print(json.dumps([n for n in {names!r} if n in sys.modules]))"
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(ran.stdout) == []


def _modules_after(args: list[str]) -> set[str]:
    """The modules a new process holds after running ``payerkg <args>`` (which must succeed)."""
    probe = (
        "import sys, json\nfrom payerkg.cli.main import command_line\n"
        f"args = {args!r}\n"
        "try:\n    command_line(args)(args)\n"
        "except SystemExit as stop:\n    assert not stop.code, stop.code\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120, cwd=ROOT
    )
    return set(json.loads(ran.stderr.strip().splitlines()[-1]))


ONE_SHOT = {
    "coverage": (
        ["coverage", "--payer", "medicare", "--code", "99213", "--date", "2025-06-01"],
        ("payerkg.coverage.matrix", "payerkg.coverage.conflicts", "payerkg.editing.review",
         "payerkg.graph.served", "payerkg.graph.catalog", "payerkg.validation.validate"),
    ),
    "validate": (
        ["validate", "ontology/encounter.example.json"],
        ("payerkg.validation.formats.mapped", "payerkg.graph.catalog", "multiprocessing",
         "payerkg.coverage.answer"),
    ),
}  # fmt: skip
"""Per one-shot command, modules only other commands or other inputs need."""


def test_a_coverage_question_imports_no_pydantic() -> None:
    """typer 0.29 built a pydantic TypeAdapter for every parameter of the command it ran: 0.2 s of
    a 0.5 s one-shot answer (pyproject.toml pins typer below it)."""
    assert "pydantic" not in _modules_after(ONE_SHOT["coverage"][0])


@pytest.mark.parametrize("command", sorted(ONE_SHOT))
def test_a_one_shot_command_imports_only_what_it_needs(command: str) -> None:
    args, late = ONE_SHOT[command]
    assert sorted(set(late) & _modules_after(args)) == []


def test_a_one_shot_command_imports_no_other_command_module() -> None:
    commands = sorted(m for m in _modules_after(["validate", "--help"]) if m.startswith("payerkg.cli."))
    assert commands == ["payerkg.cli.common", "payerkg.cli.main"]
