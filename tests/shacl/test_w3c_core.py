"""The W3C SHACL Core test suite through `payerkg shacl` (the production path), in process.

Every approved ``sht:Validate`` entry reached from ``w3c-core/core/manifest.ttl`` runs; the report
the command prints is compared with the expected one by the suite's rule (isomorphic structural
triples, messages ignored). An entry that cannot pass is listed in ``w3c-core-exceptions.json``
with its reason; a listed entry that passes fails too, so the list stays true.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import SH

from tests.cli.runner import run_cli
from tests.shacl.w3c import HERE, SUITE, Case, cases, difference, report_of, same_report

CASES = list(cases())
EXCEPTIONS: dict[str, str] = json.loads((HERE / "w3c-core-exceptions.json").read_text())


def _produced(case: Case) -> Graph:
    ran = run_cli("shacl", "-s", str(case.shapes), str(case.data), "-f", "turtle")
    assert ran.returncode in (0, 1), ran.stderr
    report = Graph().parse(data=ran.stdout, format="turtle")
    conforms = next(report.objects(None, SH.conforms), None)
    assert ran.returncode == (0 if conforms == Literal(True) else 1)
    return report_of(report)


def test_the_suite_is_complete_and_unchanged() -> None:
    """98 approved entries, as the suite has them; the copied files are the suite's own."""
    assert len(CASES) == 98
    recorded = [line.split() for line in (SUITE / "SHA256SUMS").read_text().splitlines()]
    assert {name for _, name in recorded} == {str(p.relative_to(SUITE)) for p in SUITE.rglob("*.ttl")}
    for digest, name in recorded:
        assert hashlib.sha256((SUITE / name).read_bytes()).hexdigest() == digest, name
    assert set(EXCEPTIONS) <= {case.name for case in CASES}
    assert all(reason.strip() for reason in EXCEPTIONS.values())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case(case: Case) -> None:
    produced = _produced(case)
    passed = same_report(produced, case.expected)
    if case.name in EXCEPTIONS:
        assert not passed, f"{case.name} passes now: remove it from w3c-core-exceptions.json"
        return
    assert passed, difference(produced, case.expected)
