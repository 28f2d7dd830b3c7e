"""Validate encounters against the structural shapes and the shapes derived from rule data.

pyshacl judges; this module selects nothing by hand: the derived shapes carry the payer, date and
scope of their rule versions. Findings are turned into words a biller can act on, each with the
rule version and its sources. Encounters stay in memory; nothing here stores or logs them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import pyshacl
from rdflib import Graph, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from payerkg.core.coverage import Citation, citations_of
from payerkg.core.dataset import PolicyGraph
from payerkg.core.encounter import DEFAULT_LIMITS, Encounter, Limits, parse_encounter
from payerkg.core.rule_shapes import FIELDS, LINE_FIELDS, compile_rule_shapes
from payerkg.errors import InputError
from payerkg.namespaces import PK

ENCOUNTER_SHAPES = "shapes/encounter/"


@dataclass
class Finding:
    severity: str
    message: str
    field: str
    rule: str | None
    focus_node: str
    path: str | None
    constraint: str
    source_shape: str
    citations: list[Citation] = dataclasses.field(default_factory=list)


@dataclass
class ValidationResult:
    encounter: str
    conforms: bool
    findings: list[Finding]
    graph_revision: str
    engine: str = "pyshacl"
    report: Graph | None = dataclasses.field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("report")
        return data


def shapes_graph(policy: PolicyGraph) -> Graph:
    """Structural encounter shapes plus the derived rule shapes, built once per loaded graph."""

    def build() -> Graph:
        shapes = compile_rule_shapes(policy)
        for identifier, relpath in policy.files.items():
            if relpath.startswith(ENCOUNTER_SHAPES):
                shapes += policy.dataset.graph(identifier)
        return shapes

    return policy.memo("validation.shapes", build)


def validate_encounter(policy: PolicyGraph, encounter: Encounter) -> ValidationResult:
    """Validate one parsed encounter; a non-conforming encounter is a result, not an error."""
    shapes = shapes_graph(policy)
    _, report, _ = pyshacl.validate(encounter.graph, shacl_graph=shapes, allow_warnings=True)
    assert isinstance(report, Graph)
    findings: dict[tuple[str, str], Finding] = {}
    for result in report.objects(None, SH.result):
        found = _finding(policy, shapes, encounter.graph, report, result)
        # A rule on an encounter-level field fails once per claim line; report it once.
        findings.setdefault((found.source_shape, found.field), found)
    ordered = sorted(findings.values(), key=lambda f: (f.severity != "violation", f.field, f.source_shape))
    violations = any(f.severity == "violation" for f in ordered)
    return ValidationResult(encounter.id, not violations, ordered, policy.revision, report=report)


def _finding(policy: PolicyGraph, shapes: Graph, data: Graph, report: Graph, result: Node) -> Finding:
    focus = report.value(result, SH.focusNode)
    shape = report.value(result, SH.sourceShape)
    path = report.value(result, SH.resultPath) or shapes.value(shape, PK.findingPath)
    rule = shapes.value(shape, PK.enforces)
    severity = report.value(result, SH.resultSeverity)
    message = report.value(result, SH.resultMessage)
    return Finding(
        severity="violation" if severity == SH.Violation else "warning",
        message=str(message) if message is not None else "does not follow the encounter format",
        field=_field(data, focus, path),
        rule=str(rule) if rule is not None else None,
        focus_node=str(focus),
        path=str(path) if isinstance(path, URIRef) else None,
        constraint=str(report.value(result, SH.sourceConstraintComponent)),
        source_shape=str(shape),
        citations=citations_of(policy, rule) if isinstance(rule, URIRef) else [],
    )


def _field(data: Graph, focus: Node | None, path: Node | None) -> str:
    name = FIELDS.get(path, "encounter") if isinstance(path, URIRef) else "encounter"
    if isinstance(path, URIRef) and path in LINE_FIELDS:
        number = data.value(focus, PK.lineNumber)
        return f"lines[{number if number is not None else '?'}].{name}"
    return name


def validate_batch(
    policy: PolicyGraph, lines: Iterable[bytes], limits: Limits = DEFAULT_LIMITS
) -> Iterator[dict[str, Any]]:
    """Validate NDJSON lines one by one; a bad line yields an error record and the batch goes on."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            encounter = parse_encounter(raw, "application/json", limits)
        except InputError as error:
            yield {"line": number, "error": {"code": error.code, "detail": error.message}}
            continue
        yield {"line": number, **validate_encounter(policy, encounter).to_dict()}


def report_graph(result: ValidationResult) -> Graph:
    """The full W3C SHACL validation report of a result."""
    assert result.report is not None
    return result.report
