"""Quality checks of the policy graph: the shapes in shapes/policy and the *-violation.rq queries.

Each problem names the file that holds the offending statements, the IRI of the rule version,
code or term at fault, and what is wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from rdflib import Graph, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from payerkg.graph.dataset import PolicyGraph, default_data_root, load_dataset
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.validation.shacl.engine import CompiledShapes
from payerkg.validation.shacl.graph import IndexedGraph, Triple
from payerkg.validation.shacl.production import validate

POLICY_SHAPES = "shapes/policy/"


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    focus: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.focus}: {self.message}"


def lint_files(paths: Iterable[Path] = (), root: Path | None = None) -> list[Problem]:
    """Lint the shipped graph together with extra rule files (which may reference shipped terms).

    Raises DataFileError for a file that cannot be parsed.
    """
    root = root or default_data_root()
    shipped = {p.resolve() for p in (root / "policies").rglob("*.ttl")}
    extra = [p for p in paths if p.resolve() not in shipped]
    return lint(load_dataset(root, extra=extra))


def lint(policy: PolicyGraph, focus: Collection[URIRef] | None = None) -> list[Problem]:
    """Every problem the policy shapes and violation queries find in the loaded graph; with
    ``focus``, only the problems of these nodes (checking what an edit adds)."""
    # Every named graph is data (files and accepted edits) except the policy shapes themselves.
    shape_files = [name for name, relpath in policy.files.items() if relpath.startswith(POLICY_SHAPES)]
    shapes = Graph()
    for name in shape_files:
        shapes += policy.graph(name)
    # Oxigraph holds the data for both checks, without the shapes: copied natively from the copy
    # the store keeps where it keeps one (a dry run's scratch store, the in-memory store's), so
    # an edit's check converts no statement. (Queries over the other graphs named one by one as
    # their default graph took 10 to 60 times longer than over the union of this copy's.)
    source = policy.store.oxigraph()
    if source is None:
        source = OxigraphStore(None)
        source.load(policy.dataset)
    evaluator = source.copy(excluding=shape_files)
    data = cast(list[Triple], evaluator.triples())
    problems = set(_shape_problems(policy, data, shapes, focus))
    for query_file in sorted((default_data_root() / POLICY_SHAPES).glob("*-violation.rq")):
        for row in evaluator.solutions(query_file.read_text(encoding="utf-8")):
            if focus is None or row["focus"] in focus:
                problems.add(_problem(policy, row["focus"], str(row["message"])))
    return sorted(problems)


def _shape_problems(
    policy: PolicyGraph, data: list[Triple], shapes: Graph, focus: Collection[URIRef] | None
) -> Iterable[Problem]:
    """The policy shapes' violations, by the compiled engine (the shapes are SHACL Core, so it
    needs no pyshacl: a whole-graph lint takes a fraction of a second instead of seconds)."""
    validation = validate(CompiledShapes(shapes), IndexedGraph(data), lambda: _graph(data), focus)
    for result in validation.results:
        if result.severity != SH.Violation:
            continue
        text = result.message or "violates a policy shape"
        if result.path is not None and result.message is None:
            text = f"{text} ({result.path})"
        yield _problem(policy, result.focus, text)


def _graph(triples: list[Triple]) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph


def _problem(policy: PolicyGraph, focus: Node | None, message: str) -> Problem:
    files = sorted(policy.files_describing(focus)) if isinstance(focus, URIRef) else []
    return Problem(file=", ".join(files) or "(graph)", focus=str(focus), message=message)
