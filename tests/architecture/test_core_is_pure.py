"""What each package may import: the domain packages no web, CLI, HTTP-client or process library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "service" / "payerkg"
DOMAIN = ("graph", "coverage", "validation", "editing")
INTERFACES = ("fastapi", "starlette", "typer", "click", "uvicorn", "payerkg.api", "payerkg.cli")
ADAPTERS = ("httpx", "requests", "urllib.request", "http.client", "multiprocessing", "subprocess", "signal")
SERVICE_LAYER = ("payerkg.services",)
SHACL_ENGINE = PACKAGE / "validation" / "shacl"


def _imported(module: Path) -> list[str]:
    tree = ast.parse(module.read_text())
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    return names + [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]


def _modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize("module", _modules(*DOMAIN), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_domain_imports_no_interface_adapter_or_service(module: Path) -> None:
    """Domain code is plain functions on graphs: entry points, HTTP clients, child processes and
    the service layer that orchestrates them all live elsewhere."""
    assert not [name for name in _imported(module) if name.startswith(INTERFACES + ADAPTERS + SERVICE_LAYER)]


@pytest.mark.parametrize(
    "module", _modules("services", "stores", "sparql_endpoint"), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_services_and_adapters_import_no_entry_point(module: Path) -> None:
    assert not [name for name in _imported(module) if name.startswith(INTERFACES)]


@pytest.mark.parametrize("module", sorted(SHACL_ENGINE.rglob("*.py")), ids=lambda p: p.name)
def test_shacl_engine_imports_nothing_from_payerkg(module: Path) -> None:
    assert not [
        name
        for name in _imported(module)
        if name.startswith("payerkg") and not name.startswith("payerkg.validation.shacl")
    ]


PARSING_ONLY = {
    "validation/turtle.py": {"parse", "RdfFormat", "NamedNode", "BlankNode", "Literal"},
    "validation/json_ld.py": {"parse", "RdfFormat", "NamedNode", "BlankNode", "Literal", "DefaultGraph"},
}
"""Domain modules that may use pyoxigraph's parser, which like rdflib's turns text into terms in
memory, and nothing else of it: no store, no query, no file or network access."""


def test_only_stores_import_a_store_backend_library() -> None:
    outside = [
        str(module.relative_to(PACKAGE))
        for module in _modules(*DOMAIN, "services", "api", "cli")
        if any(name.startswith(("pyoxigraph", "httpx")) for name in _imported(module))
        and str(module.relative_to(PACKAGE)) not in PARSING_ONLY
    ]
    assert outside == []


@pytest.mark.parametrize("relative", sorted(PARSING_ONLY))
def test_parsing_modules_use_only_pyoxigraph_parsing(relative: str) -> None:
    tree = ast.parse((PACKAGE / relative).read_text())
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "pyoxigraph"
    }
    used |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pyoxigraph")
        for alias in node.names
    }
    assert used and used <= PARSING_ONLY[relative]
    keywords = {k.arg for node in ast.walk(tree) if isinstance(node, ast.Call) for k in node.keywords}
    assert "path" not in keywords  # parse(path=...) would read a file
    assert "parse" in used and not [
        name for name in _imported(PACKAGE / relative) if name.startswith("httpx")
    ]
