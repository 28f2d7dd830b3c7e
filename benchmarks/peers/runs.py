"""The Turtle files every engine reads, and one timed pass of an engine over them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyshacl
from rdflib import Graph
from rdflib.namespace import SH
from rdflib.term import Node

from benchmarks.encounters import generate
from payerkg.graph.dataset import PolicyGraph
from payerkg.validation.encounter import Encounter, parse_encounter
from payerkg.validation.shacl.graph import IndexedGraph, Triple
from payerkg.validation.shacl.production import validate
from payerkg.validation.validate import compiled_shapes, shapes_graph

Mode = Literal["per call", "batch"]
TURTLE = "text/turtle"


@dataclass(frozen=True)
class Run:
    """One engine's pass over encounter files in one mode: how long it took, and which encounters
    (by file index) have a result (W3C: they do not conform) and a result of severity sh:Violation."""

    engine: str
    mode: Mode
    count: int
    seconds: float
    flagged: frozenset[int]
    violating: frozenset[int]

    @classmethod
    def of(
        cls, engine: str, mode: Mode, count: int, seconds: float, results: Iterable[tuple[int, Node]]
    ) -> Run:
        """A run from its results as (file index, severity) pairs."""
        listed = list(results)
        flagged = frozenset(index for index, _ in listed)
        return cls(
            engine, mode, count, seconds, flagged, frozenset(i for i, s in listed if s == SH.Violation)
        )

    @property
    def rate(self) -> float:
        return self.count / self.seconds


@dataclass(frozen=True)
class Exported:
    shapes: Path
    encounters: list[Path]


def export(policy: PolicyGraph, folder: Path, count: int, seed: int) -> Exported:
    """The shapes payerkg validates with and ``count`` generated encounters as Turtle files
    (rdflib's writing of each parsed encounter), named in the order of their index."""
    shapes = folder / "shapes.ttl"
    shapes_graph(policy).serialize(shapes, format="turtle")
    encounters = folder / "encounters"
    encounters.mkdir()
    files = []
    for number, encounter in enumerate(generate(count, seed=seed)):
        path = encounters / f"{number:05d}.ttl"
        parse_encounter(json.dumps(encounter).encode(), "application/json").graph.serialize(
            path, format="turtle"
        )
        files.append(path)
    return Exported(shapes, files)


def file_of(graphs: Sequence[Iterable[Triple]]) -> dict[Node, int]:
    """Each subject (an encounter, its lines and other blank nodes) and the index of its file:
    a batch report's focus nodes traced back to their encounter."""
    return {s: index for index, triples in enumerate(graphs) for s, _, _ in triples}


def compiled_runs(policy: PolicyGraph, files: list[Path]) -> list[Run]:
    """payerkg's compiled engine: each file read, parsed and judged one per call, then every file
    parsed into one data graph judged once (the raw SHACL results, as the peers give them)."""
    compiled = compiled_shapes(policy)

    def judge(encounters: list[Encounter]) -> list[tuple[Node, Node]]:
        triples = [t for encounter in encounters for t in encounter.triples]
        graph = Graph()
        validation = validate(compiled, IndexedGraph(triples), lambda: graph)
        assert validation.engine == "compiled", "a shape the compiled engine leaves to pyshacl"
        return [(r.focus, r.severity) for r in validation.results]

    for path in files[:200]:  # warm the caches (literals, shapes' memo) first
        judge([parse_encounter(path.read_bytes(), TURTLE)])
    found: list[tuple[int, Node]] = []
    started = time.perf_counter()
    for index, path in enumerate(files):
        found += [(index, severity) for _, severity in judge([parse_encounter(path.read_bytes(), TURTLE)])]
    per_call = Run.of("compiled engine", "per call", len(files), time.perf_counter() - started, found)
    started = time.perf_counter()
    parsed = [parse_encounter(path.read_bytes(), TURTLE) for path in files]
    results = judge(parsed)
    seconds = time.perf_counter() - started
    owner = file_of([e.triples for e in parsed])
    batch = [(owner[focus], severity) for focus, severity in results]
    return [per_call, Run.of("compiled engine", "batch", len(files), seconds, batch)]


def pyshacl_runs(shapes: Path, files: list[Path]) -> list[Run]:
    """pyshacl in this process: one ``pyshacl.validate`` per file (read and parsed by rdflib),
    then one over the union of every file's graph."""
    shapes_graph = Graph().parse(shapes, format="turtle")

    def judge(data: Graph) -> list[tuple[Node, Node]]:
        _, report, _ = pyshacl.validate(data, shacl_graph=shapes_graph, allow_warnings=True)
        assert isinstance(report, Graph)
        return [
            (report.value(r, SH.focusNode), report.value(r, SH.resultSeverity))  # type: ignore[misc]
            for r in report.objects(None, SH.result)
        ]

    judge(Graph().parse(files[0], format="turtle"))  # imports and first-call set-up
    found: list[tuple[int, Node]] = []
    started = time.perf_counter()
    for index, path in enumerate(files):
        found += [(index, severity) for _, severity in judge(Graph().parse(path, format="turtle"))]
    per_call = Run.of("pyshacl", "per call", len(files), time.perf_counter() - started, found)
    started = time.perf_counter()
    union, parsed = Graph(), []
    for path in files:
        graph = Graph().parse(path, format="turtle")
        union += graph
        parsed.append(graph)
    results = judge(union)
    seconds = time.perf_counter() - started
    owner = file_of(parsed)  # type: ignore[arg-type]
    batch = [(owner[focus], severity) for focus, severity in results]
    return [per_call, Run.of("pyshacl", "batch", len(files), seconds, batch)]
