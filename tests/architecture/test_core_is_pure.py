"""The domain core imports no web or CLI library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "service" / "payerkg" / "core"
FORBIDDEN = ("fastapi", "starlette", "typer", "click", "uvicorn", "payerkg.api", "payerkg.cli")


@pytest.mark.parametrize("module", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_no_interface_library(module: Path) -> None:
    tree = ast.parse(module.read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.startswith(FORBIDDEN)]
