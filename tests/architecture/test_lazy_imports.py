"""What starting a command or the service imports: the libraries only some requests need are
imported when one is made, not at start-up (each costs a tenth to a third of a second)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
