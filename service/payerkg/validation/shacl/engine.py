"""The compiled engine: every targeted shape of a shapes graph compiled, or left whole for pyshacl.

The shapes graph stays the source of truth: each shape is compiled once (``compile.py``, with
one module per group of constraint components in ``components/``), and pyshacl remains the
reference (differential tests run both). A targeted shape is either compiled, or copied whole
into ``CompiledShapes.residual`` for pyshacl, or refused as ill-formed (``errors``): none is
dropped. ``complete`` is true only when every targeted shape was compiled.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from payerkg.validation.shacl.compile import Checker, Compiler
from payerkg.validation.shacl.gates import Gate, conditions
from payerkg.validation.shacl.graph import IndexedGraph
from payerkg.validation.shacl.paths import Path
from payerkg.validation.shacl.report import Result
from payerkg.validation.shacl.shapes import ShapeError, ShapesGraph, Unsupported
from payerkg.validation.shacl.targets import TARGET_PREDICATES, Targets, targeted_shapes, targets


@dataclass
class _TargetGroup:
    """The shapes that share one target declaration, behind their conditions."""

    targets: Targets
    gate: Gate


class CompiledShapes:
    """Every targeted shape of a shapes graph: compiled, left for pyshacl, or refused.

    Pickled (a start-up snapshot keeps it), it keeps what compiling found: the shapes graph as
    read, the gates, the shapes left or refused. It drops the closures, so a copy compiles each
    shape again when a focus node first opens its gate: a process that judges a few encounters
    compiles only the shapes they reach.

    >>> import pickle
    >>> shapes = Graph().parse(data='''@prefix sh: <http://www.w3.org/ns/shacl#> .
    ... <https://example.org/S> sh:targetNode "99213\\\\n" ; sh:pattern "^[0-9]{5}$" .''', format="turtle")
    >>> compiled = CompiledShapes(shapes)
    >>> compiled.complete, [str(r.component).split("#")[1] for r in compiled.validate(IndexedGraph([]))]
    (True, ['PatternConstraintComponent'])
    >>> copy = pickle.loads(pickle.dumps(compiled))
    >>> copy.compiled_count, len(copy.validate(IndexedGraph([]))), copy.compiled_count
    (0, 1, 1)
    """

    def __init__(self, shapes: Graph) -> None:
        reader = ShapesGraph(shapes)
        compiler = Compiler(reader)
        self.reader = reader
        self.residual = Graph()
        self.residual_shapes: list[Node] = []
        self.errors: list[ShapeError] = []
        self._checkers: dict[Node, Checker] = {}
        groups: dict[Targets, _TargetGroup] = {}
        for shape in targeted_shapes(reader):
            try:
                select = targets(reader, shape)
                self._checkers[shape] = compiler.shape(shape).results
                gated = conditions(compiler, shape)
            except Unsupported:
                self.residual_shapes.append(shape)
                continue
            except ShapeError as error:
                # Name the targeted shape: a nested one is often a blank node.
                reason = error.reason if error.shape == shape else f"in {error.shape.n3()}: {error.reason}"
                self.errors.append(ShapeError(shape, reason))
                continue
            groups.setdefault(select, _TargetGroup(select, Gate())).gate.add(gated, shape)
        self.groups = list(groups.values())
        for shape in self.residual_shapes:
            _copy_shape(reader, shape, self.residual, set(self.residual_shapes))
        self._start(compiler)

    def _start(self, compiler: Compiler) -> None:
        self._compiler = compiler
        self._lock = threading.Lock()  # one compiler, so one compilation at a time
        # The paths the gates branch on, compiled before any validation: compiling numbers each
        # path, so two threads must not compile paths at once.
        self._paths: dict[Any, Path] = {
            key: compiler.paths.get(key) for group in self.groups for key in group.gate.path_keys()
        }

    def __getstate__(self) -> dict[str, Any]:
        kept = ("reader", "residual", "residual_shapes", "errors", "groups")
        return {name: self.__dict__[name] for name in kept}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._checkers = {}
        self._start(Compiler(self.reader))

    @property
    def complete(self) -> bool:
        """Whether every shape SHACL would validate was compiled (none left for pyshacl, none refused)."""
        return not self.residual_shapes and not self.errors

    @property
    def compiled_count(self) -> int:
        """How many targeted shapes are compiled (in a pickled copy: those focus nodes reached)."""
        return len(self._checkers)

    def validate(self, data: IndexedGraph, focus_nodes: Collection[Node] | None = None) -> list[Result]:
        """The results of the compiled shapes (the residual ones are not run here), on every
        focus node or on ``focus_nodes`` only (as pyshacl's option of that name)."""
        results: list[Result] = []
        for group in self.groups:
            for focus in group.targets(data):
                if focus_nodes is not None and focus not in focus_nodes:
                    continue
                opened: dict[Node, None] = {}
                group.gate.open(data, focus, self._paths, opened)
                for shape in opened:
                    results.extend(self._checker(shape)(data, focus))
        return results

    def _checker(self, shape: Node) -> Checker:
        checker = self._checkers.get(shape)
        if checker is None:
            with self._lock:  # compiling marks the shapes it is inside
                checker = self._checkers.get(shape)
                if checker is None:
                    checker = self._checkers[shape] = self._compiler.shape(shape).results
        return checker


def _copy_shape(source: ShapesGraph, shape: Node, target: Graph, tops: set[Node]) -> None:
    """Copy a shape and everything reachable from it (nested shapes, lists, paths). A reached
    shape that is not itself left for pyshacl loses its targets in the copy, so pyshacl does not
    report its results a second time."""
    stack: list[Node] = [shape]
    seen: set[Node] = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in source.predicate_objects(node):
            if node not in tops and (p in TARGET_PREDICATES or (p == RDF.type and o == RDFS.Class)):
                continue
            target.add((node, p, o))
            if isinstance(o, BNode) or (
                isinstance(o, URIRef) and p != RDF.type and bool(source.predicate_objects(o))
            ):
                stack.append(o)
