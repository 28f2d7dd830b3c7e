"""The importers are domain code: no web framework, CLI library, HTTP client or process machinery."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

IMPORTERS = Path(__file__).resolve().parents[2] / "service" / "payerkg" / "importers"
FORBIDDEN = (
    "fastapi",
    "starlette",
    "typer",
    "click",
    "uvicorn",
    "httpx",
    "multiprocessing",
    "payerkg.api",
    "payerkg.cli",
)


@pytest.mark.parametrize("module", sorted(IMPORTERS.glob("*.py")), ids=lambda p: p.name)
def test_importer_module_imports_no_interface_or_process_library(module: Path) -> None:
    tree = ast.parse(module.read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.split(".")[0] in FORBIDDEN or name.startswith(FORBIDDEN)]
