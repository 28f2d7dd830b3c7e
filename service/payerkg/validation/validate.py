"""Validate encounters against the structural shapes and the shapes derived from rule data.

The shapes are the source of truth. They are judged by the compiled SHACL engine
(payerkg.validation.shacl.engine), with pyshacl as the reference: selectable per call, used
automatically for any shape outside the compiled subset, and compared with the compiled engine
by a differential test. Findings are turned into words a biller can act on, each with the rule
version and its sources. Encounters stay in memory; nothing here stores or logs them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import asdict, dataclass
from typing import Literal

from rdflib import Graph, URIRef
from rdflib import Literal as RDFLiteral
from rdflib.namespace import SH
from rdflib.term import Node

from payerkg.errors import InputError
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.rules import Citation, rule_model
from payerkg.jsondoc import JSONObject
from payerkg.namespaces import PK
from payerkg.validation.encounter import Encounter, Limits, parse_encounter
from payerkg.validation.rule_shapes import BILLED_CODE, FIELDS, LINE_FIELDS, compile_rule_shapes
from payerkg.validation.shacl.engine import CompiledShapes
from payerkg.validation.shacl.graph import IndexedGraph
from payerkg.validation.shacl.production import pyshacl_results
from payerkg.validation.shacl.production import validate as production_validate
from payerkg.validation.shacl.report import Result, report_graph
from payerkg.validation.shacl.shapes import ShapesGraph

ENCOUNTER_SHAPES = "shapes/encounter/"
Engine = Literal["compiled", "pyshacl"]


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
class Verdict:
    """An encounter's verdict as integrators read it: ``no_violations`` is true when no finding is
    a violation (warnings may remain); the W3C report's ``sh:conforms`` is false on any result."""

    encounter: str
    no_violations: bool
    findings: list[Finding]
    graph_revision: str
    engine: str


@dataclass
class ValidationResult(Verdict):
    """The verdict with the SHACL results it came from, for the W3C report."""

    results: list[Result] = dataclasses.field(default_factory=list, repr=False)
    shapes: ShapesGraph | None = dataclasses.field(default=None, repr=False)

    def verdict(self) -> Verdict:
        return Verdict(self.encounter, self.no_violations, self.findings, self.graph_revision, self.engine)

    def to_dict(self) -> JSONObject:
        # Not asdict(self): it would deep-copy every result's rdflib terms only to drop them.
        return asdict(self.verdict())

    def report(self) -> Graph:
        """The full W3C SHACL validation report (``sh:conforms`` false when any result exists)."""
        return report_graph(self.results, self.shapes)


@dataclass
class ShapesState:
    """A revision's shapes as a start-up snapshot keeps them: the compiled engine (pickled
    without its closures, so it compiles each shape again when first reached) and the facts
    read so far."""

    compiled: CompiledShapes
    facts: dict[tuple[Node, Node | None], tuple[Node | None, Node | None, tuple[Citation, ...]]]


class _Shapes:
    """A revision's shapes: structural encounter shapes plus the derived rule shapes, the fast
    engine's compilation of them, and what each shape's findings say (path, rule, sources)."""

    content_only = True  # shared by graphs of one identity (graph.dataset.SharedViews)

    def __init__(self, policy: PolicyGraph) -> None:
        graph = compile_rule_shapes(policy)
        for identifier, relpath in policy.files.items():
            if relpath.startswith(ENCOUNTER_SHAPES):
                graph += policy.graph(identifier)
        self._graph: Graph | None = graph
        self._compiled: CompiledShapes | None = None
        self.facts: dict[tuple[Node, Node | None], tuple[Node | None, Node | None, tuple[Citation, ...]]] = {}

    def saved_state(self) -> ShapesState:
        return ShapesState(self.compiled, dict(self.facts))

    @classmethod
    def restore(cls, policy: PolicyGraph, state: object) -> _Shapes:
        assert isinstance(state, ShapesState)
        shapes = cls.__new__(cls)
        shapes._graph, shapes._compiled, shapes.facts = None, state.compiled, state.facts
        return shapes

    @property
    def graph(self) -> Graph:
        """The shapes as an rdflib graph (for pyshacl); restored shapes make it from what the
        engine read, when first asked."""
        if self._graph is None:
            self._graph = self.compiled.reader.graph()
        return self._graph

    @property
    def compiled(self) -> CompiledShapes:
        if self._compiled is None:
            self._compiled = CompiledShapes(self.graph)
        return self._compiled


def shapes_graph(policy: PolicyGraph) -> Graph:
    """Structural encounter shapes plus the derived rule shapes, built once per revision."""
    return policy.view(_Shapes).graph


def compiled_shapes(policy: PolicyGraph) -> CompiledShapes:
    """The shapes compiled for the fast engine, built once per revision."""
    return policy.view(_Shapes).compiled


def validate_encounter(
    policy: PolicyGraph, encounter: Encounter, engine: Engine = "compiled"
) -> ValidationResult:
    """Validate one parsed encounter; a non-conforming encounter is a result, not an error."""
    data = IndexedGraph(encounter.triples)
    if engine == "pyshacl":
        results, used = pyshacl_results(shapes_graph(policy), encounter.graph), "pyshacl"
    else:
        validation = production_validate(compiled_shapes(policy), data, lambda: encounter.graph)
        results, used = validation.results, validation.engine
    findings: dict[tuple[str, str], Finding] = {}
    for result in results:
        found = _finding(policy, data, result)
        # A rule on an encounter-level field fails once per claim line; report it once.
        findings.setdefault((found.source_shape, found.field), found)
    ordered = sorted(findings.values(), key=lambda f: (f.severity != "violation", f.field, f.source_shape))
    no_violations = not any(f.severity == "violation" for f in ordered)
    return ValidationResult(
        encounter.id, no_violations, ordered, policy.revision, used, results, compiled_shapes(policy).reader
    )


def _finding(policy: PolicyGraph, data: IndexedGraph, result: Result) -> Finding:
    path, rule, citations = _shape_facts(policy, result.source_shape, result.path)
    return Finding(
        severity="violation" if result.severity == SH.Violation else "warning",
        message=_billed(
            data, result, _filled(result.message or "does not follow the encounter format", result.value)
        ),
        field=_field(data, result, path),
        rule=str(rule) if rule is not None else None,
        focus_node=str(result.focus),
        path=str(path) if isinstance(path, URIRef) else None,
        constraint=str(result.component),
        source_shape=str(result.source_shape),
        citations=list(citations),
    )


def _filled(message: str, value: object) -> str:
    """A message with ``{$value}`` replaced by the value at fault when it has a safe form (a payer
    id, a code), never anything else a document carried."""
    if "{$value}" not in message:
        return message
    shown = "that was given"
    if isinstance(value, RDFLiteral) and SAFE_VALUE.fullmatch(str(value)):
        plain = value.datatype is None and value.language is None
        shown = str(value) if plain else f"{value} written with a datatype or language tag"
    return message.replace("{$value}", shown)


SAFE_VALUE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _billed(data: IndexedGraph, result: Result, message: str) -> str:
    """A message with ``{$code}`` replaced by the code billed on the line at fault (the focus node),
    not the 20-30 codes its rule covers."""
    if BILLED_CODE not in message:
        return message
    codes = [c for c in data.objects(result.focus, PK.code) if SAFE_VALUE.fullmatch(str(c))]
    return message.replace(BILLED_CODE, str(codes[0]) if codes else "(the line's)")


def _shape_facts(
    policy: PolicyGraph, shape: Node, path: Node | None
) -> tuple[Node | None, Node | None, tuple[Citation, ...]]:
    """The finding path, enforced rule and its citations of a result's shape and path, read once each."""
    view = policy.view(_Shapes)
    facts, shapes = view.facts, view.compiled.reader
    key = (shape, path)
    if key not in facts:
        shown = path if isinstance(path, URIRef) else shapes.value(shape, PK.findingPath)
        rule = shapes.value(shape, PK.enforces)
        citations = tuple(rule_model(policy).citations_of(rule)) if isinstance(rule, URIRef) else ()
        facts[key] = (shown, rule, citations)
    return facts[key]


def read_rule_facts(policy: PolicyGraph) -> None:
    """What the findings of each shape that enforces a rule say, read ahead (at warm-up, so that
    a snapshot keeps it): a restored engine then reports such a finding without reading the rule
    model (8 ms of a one-shot validate)."""
    shapes = policy.view(_Shapes).compiled.reader
    for shape in shapes.subjects():
        if shapes.value(shape, PK.enforces) is not None:
            _shape_facts(policy, shape, shapes.value(shape, SH.path))


def _field(data: IndexedGraph, result: Result, path: object) -> str:
    name = FIELDS.get(path, "encounter") if isinstance(path, URIRef) else "encounter"
    if isinstance(path, URIRef) and path in LINE_FIELDS:
        numbers = data.objects(result.focus, PK.lineNumber)
        return f"lines[{numbers[0] if numbers else '?'}].{name}"
    return name


@dataclass(frozen=True)
class BatchRecord:
    """One line of an NDJSON batch: its result text and what a summary needs."""

    line: int
    text: str
    status: Literal["conforms", "does-not-conform", "refused"]
    violated_rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineVerdict:
    """One line of an NDJSON batch judged: its verdict, or why the line was refused."""

    line: int
    verdict: Verdict | None
    error_code: str | None = None
    error_detail: str | None = None

    @property
    def status(self) -> Literal["conforms", "does-not-conform", "refused"]:
        if self.verdict is None:
            return "refused"
        return "conforms" if self.verdict.no_violations else "does-not-conform"

    def text(self) -> str:
        """The line's NDJSON record, as ``POST /validate/batch`` answers it."""
        if self.verdict is None:
            return json.dumps(
                {"line": self.line, "error": {"code": self.error_code, "detail": self.error_detail}}
            )
        return json.dumps({"line": self.line, **asdict(self.verdict)})


def judge_line(policy: PolicyGraph, limits: Limits, item: tuple[int, bytes]) -> LineVerdict:
    """One JSON encounter of a batch, parsed within ``limits`` and validated."""
    number, raw = item
    try:
        encounter = parse_encounter(raw, "application/json", limits)
    except InputError as error:
        return LineVerdict(number, None, error.code, error.message)
    return LineVerdict(number, validate_encounter(policy, encounter).verdict())


def validate_line(policy: PolicyGraph, limits: Limits, item: tuple[int, bytes]) -> BatchRecord:
    judged = judge_line(policy, limits, item)
    findings = judged.verdict.findings if judged.verdict is not None else []
    violated = tuple(f.rule for f in findings if f.severity == "violation" and f.rule)
    return BatchRecord(judged.line, judged.text(), judged.status, violated)
