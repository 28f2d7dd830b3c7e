"""The compiled engine: every targeted shape of a shapes graph compiled, or left whole for pyshacl.

The shapes graph stays the source of truth: each shape is compiled once (``compile.py``, with
one module per group of constraint components in ``components/``), and pyshacl remains the
reference (differential tests run both). A targeted shape is either compiled, or copied whole
into ``CompiledShapes.residual`` for pyshacl, or refused as ill-formed (``errors``): none is
dropped. ``complete`` is true only when every targeted shape was compiled.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from payerkg.validation.shacl.compile import Checker, Compiler
from payerkg.validation.shacl.gates import Gate, TopShape, conditions
from payerkg.validation.shacl.graph import IndexedGraph
from payerkg.validation.shacl.report import Result
from payerkg.validation.shacl.shapes import ShapeError, ShapesGraph, Unsupported, sh
from payerkg.validation.shacl.targets import TARGETS, Targets, target_key, targeted_shapes, targets


@dataclass
class _TargetGroup:
    """The shapes that share one target declaration, behind their conditions."""

    targets: Targets
    gate: Gate


class CompiledShapes:
    """Every targeted shape of a shapes graph: compiled, left for pyshacl, or refused.

    >>> from rdflib import Literal
    >>> shapes = Graph().parse(data='''@prefix sh: <http://www.w3.org/ns/shacl#> .
    ... <https://example.org/S> sh:targetNode "99213\\\\n" ; sh:pattern "^[0-9]{5}$" .''', format="turtle")
    >>> compiled = CompiledShapes(shapes)
    >>> compiled.complete, [str(r.component).split("#")[1] for r in compiled.validate(IndexedGraph([]))]
    (True, ['PatternConstraintComponent'])
    """

    def __init__(self, shapes: Graph, *, compiles_whole: bool = False) -> None:
        """Compile every targeted shape of ``shapes``; where the caller knows they all compile
        (``compiles_whole``: a start-up snapshot of these shapes was checked so by this code),
        each is compiled instead when a focus node first opens its gate, so that a process judging
        a few encounters compiles only the shapes they reach."""
        self.shapes = shapes
        self.compiles_whole = compiles_whole
        reader = ShapesGraph(shapes)
        compiler = Compiler(reader)
        self.residual = Graph()
        self.residual_shapes: list[Node] = []
        self.errors: list[ShapeError] = []
        groups: dict[tuple[Any, ...], _TargetGroup] = {}
        lock = threading.Lock()  # one compiler, so one compilation at a time
        for shape in targeted_shapes(reader):
            try:
                select = targets(reader, shape)
                if compiles_whole:
                    top = TopShape(shape, build=functools.partial(_checker, compiler, shape), lock=lock)
                else:
                    top = TopShape(shape, compiler.shape(shape).results)
                gated = conditions(compiler, shape)
            except Unsupported:
                self.residual_shapes.append(shape)
                continue
            except ShapeError as error:
                # Name the targeted shape: a nested one is often a blank node.
                reason = error.reason if error.shape == shape else f"in {error.shape.n3()}: {error.reason}"
                self.errors.append(ShapeError(shape, reason))
                continue
            key = target_key(reader, shape)
            group = groups.setdefault(key, _TargetGroup(select, Gate()))
            group.gate.add(compiler, gated, top)
        self.groups = list(groups.values())
        for shape in self.residual_shapes:
            _copy_shape(shapes, shape, self.residual, set(self.residual_shapes))

    @property
    def complete(self) -> bool:
        """Whether every shape SHACL would validate was compiled (none left for pyshacl, none refused)."""
        return not self.residual_shapes and not self.errors

    def validate(self, data: IndexedGraph, focus_nodes: Collection[Node] | None = None) -> list[Result]:
        """The results of the compiled shapes (the residual ones are not run here), on every
        focus node or on ``focus_nodes`` only (as pyshacl's option of that name)."""
        results: list[Result] = []
        for group in self.groups:
            for focus in group.targets(data):
                if focus_nodes is not None and focus not in focus_nodes:
                    continue
                opened: dict[TopShape, None] = {}
                group.gate.open(data, focus, opened)
                for top in opened:
                    results.extend(top.results(data, focus))
        return results


def _checker(compiler: Compiler, shape: Node) -> Checker:
    return compiler.shape(shape).results


TARGET_PREDICATES = frozenset(sh(t) for t in TARGETS)


def _copy_shape(source: Graph, shape: Node, target: Graph, tops: set[Node]) -> None:
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
                isinstance(o, URIRef) and p != RDF.type and (o, None, None) in source
            ):
                stack.append(o)
