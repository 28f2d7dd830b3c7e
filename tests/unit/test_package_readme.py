"""service/payerkg/README.md has one line per module, and names no module that is gone."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "service" / "payerkg"
# A package is listed as a folder (`graph/`); its marker says nothing more than that line.
MARKER = "__init__.py"


def _listed() -> set[str]:
    readme = (PACKAGE / "README.md").read_text()
    return set(re.findall(r"^\| `([\w/]+\.py)` \|", readme, flags=re.MULTILINE))


def test_every_module_has_a_line() -> None:
    modules = {path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py") if path.name != MARKER}
    assert sorted(modules - _listed()) == []


def test_every_package_has_a_line() -> None:
    readme = (PACKAGE / "README.md").read_text()
    packages = {path.parent.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob(MARKER)} - {"."}
    assert sorted(package for package in packages if f"| `{package}/` |" not in readme) == []


def test_every_listed_module_exists() -> None:
    assert sorted(name for name in _listed() if not (PACKAGE / name).is_file()) == []
