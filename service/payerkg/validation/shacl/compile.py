"""Compilation: each shape, once, into Python closures that follow SHACL Core's semantics.

A shape compiles into ``results`` (the validation results for one focus node) and ``ok`` (a plain
yes/no, for nesting and for the common case where a focus conforms). A shape that uses a feature
the engine does not compile raises ``Unsupported`` (it goes whole to pyshacl); one that is not
well-formed raises ``ShapeError``, naming it and the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rdflib import Literal, URIRef
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.components import AUXILIARY, COMPONENTS
from payerkg.validation.shacl.components.base import Check, Constraint, Context, SetTest
from payerkg.validation.shacl.components.logical import all_of
from payerkg.validation.shacl.graph import IndexedGraph
from payerkg.validation.shacl.paths import Path, Paths, memoised, path_key
from payerkg.validation.shacl.report import Result
from payerkg.validation.shacl.shapes import SHACL, ShapeError, ShapesGraph, Unsupported, sh

Checker = Callable[[IndexedGraph, Identifier], list[Result]]

# Predicates of a shape that carry no constraint (targets, documentation, result details).
NON_CONSTRAINTS = frozenset(
    [
        *("message", "severity", "name", "description", "order", "group", "defaultValue", "deactivated"),
        *("path", "targetNode", "targetClass", "targetSubjectsOf", "targetObjectsOf", "target"),
    ]
)


@dataclass(frozen=True)
class CompiledShape:
    results: Checker
    ok: Check


def _never(g: IndexedGraph, focus: Identifier) -> list[Result]:
    return []


def _always(g: IndexedGraph, focus: Identifier) -> bool:
    return True


DEACTIVATED = CompiledShape(_never, _always)


class Compiler:
    """Compiles the shapes of one shapes graph; a shape reached twice is compiled once."""

    def __init__(self, shapes: ShapesGraph) -> None:
        self.shapes = shapes
        self.paths = Paths()
        self.compiled: dict[Node, CompiledShape] = {}
        self.checks: dict[Node, Check] = {}
        self.compiling: set[Node] = set()

    def parameters(self, shape: Node) -> dict[str, list[Node]]:
        """The shape's constraint parameters by local name; Unsupported for any SHACL predicate
        the engine does not know (sh:sparql, SHACL-AF ...)."""
        found: dict[str, list[Node]] = {}
        namespace = str(SHACL)
        for p, o in self.shapes.predicate_objects(shape):
            if not isinstance(p, URIRef) or not p.startswith(namespace):
                continue
            name = p[len(namespace) :]
            if name in NON_CONSTRAINTS or name in AUXILIARY:
                continue
            if name not in COMPONENTS and name != "property":
                raise Unsupported(f"sh:{name} on {shape}")
            found.setdefault(name, []).append(o)
        return found

    def conforms(self, shape: Node) -> Check:
        """Whether a node conforms to ``shape`` (a node or a property shape, nested).

        A shape nested in several places is memoised per node within one validation: one rule
        version's APPLIES shape is shared by all its requirement shapes, so it is evaluated once
        per claim line. A shape nested once is cheaper to evaluate than to look up.
        """
        if shape not in self.checks:
            ok = self.shape(shape).ok
            if len(self.shapes.referrers(shape)) < 2:
                self.checks[shape] = ok
            else:
                self.checks[shape] = memoised(shape, ok)
        return self.checks[shape]

    def shape(self, shape: Node) -> CompiledShape:
        if shape not in self.compiled:
            if shape in self.compiling:
                raise Unsupported(f"recursive shape {shape}")
            self.compiling.add(shape)
            try:
                self.compiled[shape] = self._compile(shape)
            finally:
                self.compiling.discard(shape)
        return self.compiled[shape]

    def _compile(self, shape: Node) -> CompiledShape:
        shapes = self.shapes
        if shapes.is_deactivated(shape):
            return DEACTIVATED
        is_property = shapes.is_property_shape(shape)
        path_node = shapes.one(shape, "path") if is_property else None
        path = self.paths.get(path_key(shapes, shape, path_node)) if path_node is not None else None
        severity = shapes.one(shape, "severity") or sh("Violation")
        if not isinstance(severity, URIRef):
            raise ShapeError(shape, f"sh:severity must be an IRI, not {severity.n3()}")
        messages = tuple(m for m in shapes.values(shape, "message") if isinstance(m, Literal))
        context = Context(shapes, shape, is_property, self.conforms)
        constraints: list[Constraint] = []
        nested: list[CompiledShape] = []
        for name, values in self.parameters(shape).items():
            if name == "property":
                for inner in values:
                    if not shapes.is_property_shape(inner):
                        raise ShapeError(shape, f"sh:property {inner.n3()} has no sh:path")
                    nested.append(self.shape(inner))
                continue
            component = COMPONENTS[name]
            if component.property_only and not is_property:
                raise ShapeError(shape, f"sh:{name} is only allowed on property shapes")
            if component.single and len(values) > 1:
                raise ShapeError(shape, f"sh:{name} has {len(values)} values; a shape may have one")
            for value in values:
                constraints.extend(component.build(context, value))
        return _assemble(shape, path_node, path, severity, messages, constraints, nested)


def _assemble(
    shape: Node,
    path_node: Node | None,
    path: Path | None,
    severity: URIRef,
    messages: tuple[Literal, ...],
    constraints: list[Constraint],
    nested: list[CompiledShape],
) -> CompiledShape:
    each = [(c.component, c.each) for c in constraints if c.each is not None]
    whole = [(c.component, c.holds, c.failures) for c in constraints if c.holds is not None and c.failures]
    each_tests = [test for _, test in each]
    whole_tests = [holds for _, holds, _ in whole]
    nested_ok = [n.ok for n in nested]

    def value_nodes(g: IndexedGraph, focus: Identifier) -> list[Identifier]:
        return path(g, focus) if path is not None else [focus]

    # Plain loops: nested shapes evaluate this for every claim line.
    # Counts and required values are tested inline, the rest by their own test.
    least = max([c.counts[0] for c in constraints if c.counts is not None], default=0)
    most = min(
        [c.counts[1] for c in constraints if c.counts is not None and c.counts[1] is not None], default=-1
    )
    required = [c.required for c in constraints if c.required is not None]
    inline = [c.holds for c in constraints if c.counts is not None or c.required is not None]
    others = [holds for holds in whole_tests if holds not in inline]

    def ok_property(g: IndexedGraph, focus: Identifier) -> bool:
        values = path(g, focus)  # type: ignore[misc]
        count = len(values)
        if count < least or (most >= 0 and count > most):
            return False
        for value in required:
            if value not in values:
                return False
        for holds in others:
            if not holds(g, focus, values):
                return False
        for test in each_tests:
            for value in values:
                if not test(g, value):
                    return False
        for inner in nested_ok:
            for value in values:
                if not inner(g, value):
                    return False
        return True

    # A node shape: its one value node is the focus node, so its tests apply to the focus.
    node_tests = [*each_tests, *(_on_focus(holds) for holds in whole_tests), *nested_ok]
    ok = all_of(node_tests) if path is None else ok_property

    # Most focus nodes conform: the plain yes/no answers that first, without building results.
    def results(g: IndexedGraph, focus: Identifier) -> list[Result]:
        if ok(g, focus):
            return []
        values = value_nodes(g, focus)
        found = []
        for component, _, failures in whole:
            for value, result_path in failures(g, focus, values):
                found.append(
                    Result(focus, result_path or path_node, value, component, shape, severity, messages)
                )
        for component, test in each:
            for value in values:
                if not test(g, value):
                    found.append(Result(focus, path_node, value, component, shape, severity, messages))
        for inner in nested:
            for value in values:
                found.extend(inner.results(g, value))
        return found

    return CompiledShape(results, ok)


def _on_focus(holds: SetTest) -> Check:
    return lambda g, focus: holds(g, focus, [focus])
