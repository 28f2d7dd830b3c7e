"""A compiled evaluator for the SHACL Core subset that payerkg's shapes use.

The shapes graph stays the source of truth: each shape is compiled once into Python closures that
follow the SHACL Core semantics of its constraints, and pyshacl remains the reference (a
differential test runs both on every case and on generated encounters). A shape that uses
anything outside the subset is not compiled; ``CompiledShapes.residual`` holds those shapes so a
caller can hand them to pyshacl.

Supported: targets (sh:targetSubjectsOf, sh:targetObjectsOf, sh:targetNode, sh:targetClass),
predicate, inverse and sequence paths, and the components minCount, maxCount, in, hasValue,
datatype, pattern (with flags), minInclusive, maxInclusive, node, property, and, or, not,
qualifiedValueShape with qualifiedMinCount.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD
from rdflib.term import Identifier, Node

SHACL = SH._NS
Triple = tuple[Identifier, URIRef, Identifier]
Values = list[Identifier]

# Predicates of a shape that carry no constraint.
NON_CONSTRAINTS = {
    SHACL["message"],
    SHACL["severity"],
    SHACL["name"],
    SHACL["description"],
    SHACL["order"],
    SHACL["group"],
    SHACL["targetSubjectsOf"],
    SHACL["targetObjectsOf"],
    SHACL["targetNode"],
    SHACL["targetClass"],
    SHACL["path"],
    SHACL["flags"],
    SHACL["qualifiedMinCount"],
    SHACL["deactivated"],
}


class Unsupported(Exception):
    """A shape uses a SHACL feature outside the compiled subset."""


class IndexedGraph:
    """A small read-only graph with the two indexes path evaluation needs."""

    def __init__(self, triples: Iterable[Triple]) -> None:
        self.out: dict[Identifier, dict[URIRef, Values]] = defaultdict(lambda: defaultdict(list))
        self.inv: dict[Identifier, dict[URIRef, Values]] = defaultdict(lambda: defaultdict(list))
        self.by_predicate: dict[URIRef, dict[Identifier, None]] = defaultdict(dict)
        # Path values and nested-shape verdicts already computed for this graph.
        self.memo: dict[tuple[Any, Identifier], Any] = {}
        self.objects_by_predicate: dict[URIRef, dict[Identifier, None]] = defaultdict(dict)
        for s, p, o in triples:
            self.out[s][p].append(o)
            self.inv[o][p].append(s)
            self.by_predicate[p][s] = None
            self.objects_by_predicate[p][o] = None

    def objects(self, node: Identifier, predicate: URIRef) -> Values:
        found = self.out.get(node)
        return found.get(predicate, []) if found is not None else []

    def subjects(self, predicate: URIRef, node: Identifier) -> Values:
        found = self.inv.get(node)
        return found.get(predicate, []) if found is not None else []


@dataclass(frozen=True)
class Result:
    """One validation result, as the W3C report states it."""

    focus: Identifier
    path: Node | None
    value: Identifier | None
    component: URIRef
    source_shape: Node
    severity: URIRef
    message: str | None


Path = Callable[[IndexedGraph, Identifier], Values]
Check = Callable[[IndexedGraph, Identifier], bool]
Checker = Callable[..., Iterator[Result]]


def _distinct(values: Iterable[Identifier]) -> Values:
    if isinstance(values, list) and len(values) < 2:
        return values
    return list(dict.fromkeys(values))


class _Compiler:
    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.checks: dict[Node, Check] = {}
        self.compiling: set[Node] = set()

    def items(self, head: Node) -> list[Node]:
        return list(Collection(self.shapes, head))

    def path(self, node: Node) -> Path:
        """The value nodes of a path, memoised per focus within one validation."""
        key = self.path_key(node)
        evaluate = self.uncached_path(node)

        def cached(g: IndexedGraph, focus: Identifier) -> Values:
            found = g.memo.get((key, focus))
            if found is None:
                found = g.memo[(key, focus)] = evaluate(g, focus)
            return found

        return cached

    def path_key(self, node: Node) -> Any:
        """A structural key: two shapes with the same path share the memo."""
        if isinstance(node, URIRef):
            return node
        inverse = self.shapes.value(node, SHACL["inversePath"])
        if isinstance(inverse, URIRef):
            return ("^", inverse)
        return tuple(self.path_key(step) for step in self.items(node))

    def uncached_path(self, node: Node) -> Path:
        if isinstance(node, URIRef):
            return lambda g, focus: _distinct(g.objects(focus, node))
        inverse = self.shapes.value(node, SHACL["inversePath"])
        if isinstance(inverse, URIRef):
            return lambda g, focus: _distinct(g.subjects(inverse, focus))
        if (node, RDF.first, None) in self.shapes:
            steps = [self.uncached_path(step) for step in self.items(node)]

            def sequence(g: IndexedGraph, focus: Identifier) -> Values:
                current = [focus]
                for step in steps:
                    current = _distinct([v for node_ in current for v in step(g, node_)])
                return current

            return sequence
        raise Unsupported(f"path {node}")

    def conforms(self, shape: Node) -> Check:
        """Whether a node conforms to ``shape`` (nested shapes), memoised per node within one validation.

        One rule version's APPLIES shape is shared by all its requirement shapes, so it is
        evaluated once per claim line.
        """
        if shape not in self.checks:
            ok = self.node(shape)[1]

            def check(g: IndexedGraph, focus: Identifier) -> bool:
                found = g.memo.get((shape, focus))
                if found is None:
                    found = g.memo[(shape, focus)] = ok(g, focus)
                return found

            self.checks[shape] = check
        return self.checks[shape]

    def constraints(self, shape: Node) -> dict[URIRef, list[Node]]:
        found: dict[URIRef, list[Node]] = defaultdict(list)
        for p, o in self.shapes.predicate_objects(shape):
            if isinstance(p, URIRef) and str(p).startswith(str(SHACL)) and p not in NON_CONSTRAINTS:
                found[p].append(o)
        return found

    def value_constraints(
        self, shape: Node, constraints: dict[URIRef, list[Node]]
    ) -> list[tuple[URIRef, Check]]:
        """Constraints that test each value node on its own: (component, value conforms?)."""
        tests: list[tuple[URIRef, Check]] = []
        for name in list(constraints):
            objects = constraints[name]
            local = str(name)[len(str(SHACL)) :]
            if local == "in":
                allowed = frozenset(v for head in objects for v in self.items(head))
                tests.append((SHACL["InConstraintComponent"], _member_of(allowed)))
            elif local == "datatype":
                tests.extend((SHACL["DatatypeConstraintComponent"], _typed(d)) for d in objects)
            elif local == "pattern":
                flags = self.shapes.value(shape, SHACL["flags"])
                for pattern in objects:
                    regex = re.compile(str(pattern), _regex_flags(str(flags) if flags else ""))
                    tests.append((SHACL["PatternConstraintComponent"], _matches(regex)))
            elif local in ("minInclusive", "maxInclusive"):
                component = SHACL[f"{local[:3].capitalize()}InclusiveConstraintComponent"]
                tests.extend((component, _bounded(b, low=local == "minInclusive")) for b in objects)
            elif local == "not":
                tests.extend((SHACL["NotConstraintComponent"], _negated(self.conforms(n))) for n in objects)
            elif local == "node":
                tests.extend((SHACL["NodeConstraintComponent"], self.conforms(n)) for n in objects)
            else:
                continue
            del constraints[name]
        return tests

    def node_shape(self, shape: Node) -> Checker:
        """Results of ``shape`` for one focus node (value node = focus node)."""
        return self.node(shape)[0]

    def property_shape(self, shape: Node) -> Checker:
        """Results of a property shape for one focus node."""
        return self.property(shape)[0]

    def node(self, shape: Node) -> tuple[Checker, Check]:
        """A node shape compiled twice over: to results, and to a plain yes/no for nesting."""
        if shape in self.compiling:
            raise Unsupported(f"recursive shape {shape}")
        self.compiling.add(shape)
        constraints = self.constraints(shape)
        severity, text = self.severity(shape), self.message(shape)
        properties = [self.property(p) for p in constraints.pop(SHACL["property"], [])]
        tests = self.value_constraints(shape, constraints)
        for head in constraints.pop(SHACL["or"], []):
            members = [self.conforms(m) for m in self.items(head)]
            tests.append((SHACL["OrConstraintComponent"], _any_of(members)))
        for head in constraints.pop(SHACL["and"], []):
            members = [self.conforms(m) for m in self.items(head)]
            tests.append((SHACL["AndConstraintComponent"], _all_of(members)))
        for value in constraints.pop(SHACL["hasValue"], []):
            tests.append((SHACL["HasValueConstraintComponent"], _member_of(frozenset([value]))))
        self.compiling.discard(shape)
        if constraints:
            raise Unsupported(f"constraints {sorted(map(str, constraints))} on {shape}")
        plain_tests = [test for _, test in tests]
        property_oks = [ok for _, ok in properties]

        def results(g: IndexedGraph, focus: Identifier) -> Iterator[Result]:
            for component, test in tests:
                if not test(g, focus):
                    yield Result(focus, None, focus, component, shape, severity, text)
            for checker, _ in properties:
                yield from checker(g, focus)

        def ok(g: IndexedGraph, focus: Identifier) -> bool:
            return all(test(g, focus) for test in plain_tests) and all(p(g, focus) for p in property_oks)

        return results, ok

    def property(self, shape: Node) -> tuple[Checker, Check]:
        """A property shape compiled to results and to a plain yes/no."""
        path_node = self.shapes.value(shape, SHACL["path"])
        if path_node is None:
            raise Unsupported(f"property shape without a path: {shape}")
        path = self.path(path_node)
        constraints = self.constraints(shape)
        severity, text = self.severity(shape), self.message(shape)
        minimum_counts = [int(str(b)) for b in constraints.pop(SHACL["minCount"], [])]
        maximum_counts = [int(str(b)) for b in constraints.pop(SHACL["maxCount"], [])]
        has_values = constraints.pop(SHACL["hasValue"], [])
        qualified: list[tuple[Check, int]] = []
        for inner in constraints.pop(SHACL["qualifiedValueShape"], []):
            minimum = self.shapes.value(shape, SHACL["qualifiedMinCount"])
            if minimum is None or (shape, SHACL["qualifiedMaxCount"], None) in self.shapes:
                raise Unsupported(f"qualified value shape without exactly a minimum on {shape}")
            qualified.append((self.conforms(inner), int(str(minimum))))
        tests = self.value_constraints(shape, constraints)
        if constraints:
            raise Unsupported(f"constraints {sorted(map(str, constraints))} on property shape {shape}")
        plain_tests = [test for _, test in tests]

        def failures(g: IndexedGraph, values: Values) -> Iterator[tuple[URIRef, Identifier | None]]:
            count = len(values)
            for bound in minimum_counts:
                if count < bound:
                    yield SHACL["MinCountConstraintComponent"], None
            for bound in maximum_counts:
                if count > bound:
                    yield SHACL["MaxCountConstraintComponent"], None
            for value in has_values:
                if value not in values:
                    yield SHACL["HasValueConstraintComponent"], None
            for inner, least in qualified:
                if sum(1 for v in values if inner(g, v)) < least:
                    yield SHACL["QualifiedMinCountConstraintComponent"], None
            for component, test in tests:
                for value in values:
                    if not test(g, value):
                        yield component, value

        def results(g: IndexedGraph, focus: Identifier) -> Iterator[Result]:
            for component, value in failures(g, path(g, focus)):
                yield Result(focus, path_node, value, component, shape, severity, text)

        def ok(g: IndexedGraph, focus: Identifier) -> bool:
            values = path(g, focus)
            count = len(values)
            return (
                all(count >= bound for bound in minimum_counts)
                and all(count <= bound for bound in maximum_counts)
                and all(value in values for value in has_values)
                and all(sum(1 for v in values if inner(g, v)) >= least for inner, least in qualified)
                and all(test(g, v) for test in plain_tests for v in values)
            )

        return results, ok

    def severity(self, shape: Node) -> URIRef:
        found = self.shapes.value(shape, SHACL["severity"])
        return found if isinstance(found, URIRef) else SHACL["Violation"]

    def message(self, shape: Node) -> str | None:
        found = self.shapes.value(shape, SHACL["message"])
        return str(found) if found is not None else None


def _member_of(allowed: frozenset[Node]) -> Check:
    return lambda g, value: value in allowed


def _typed(datatype: Node) -> Check:
    return lambda g, value: _has_datatype(value, datatype)


def _matches(regex: re.Pattern[str]) -> Check:
    return lambda g, value: not isinstance(value, BNode) and regex.search(str(value)) is not None


def _bounded(bound: Node, low: bool) -> Check:
    return lambda g, value: _within(value, bound, low)


def _negated(check: Check) -> Check:
    return lambda g, value: not check(g, value)


def _any_of(checks: list[Check]) -> Check:
    return lambda g, value: any(check(g, value) for check in checks)


def _all_of(checks: list[Check]) -> Check:
    return lambda g, value: all(check(g, value) for check in checks)


def _has_datatype(value: Identifier, datatype: Node) -> bool:
    if not isinstance(value, Literal):
        return False
    if value.ill_typed:
        return False
    if value.datatype is None:
        return datatype == XSD.string and value.language is None
    return value.datatype == datatype


def _within(value: Identifier, bound: Node, low: bool) -> bool:
    if not isinstance(value, Literal) or not isinstance(bound, Literal):
        return False
    left, right = value.value, bound.value
    if left is None or right is None or isinstance(left, str) != isinstance(right, str):
        return False
    try:
        return bool(left >= right) if low else bool(left <= right)
    except TypeError:
        return False


def _regex_flags(flags: str) -> int:
    value = 0
    for flag, bit in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL), ("x", re.VERBOSE)):
        if flag in flags:
            value |= bit
    return value


@dataclass
class _TopShape:
    shape: Node
    targets: Callable[[IndexedGraph], Sequence[Identifier]]
    results: Checker
    # A necessary condition for the shape to report anything: (predicate, values). Shapes of the
    # form sh:or ( [ sh:not APPLIES ] ... ) conform whenever APPLIES' required code is absent.
    gate: tuple[URIRef, frozenset[Node]] | None


@dataclass
class _TargetGroup:
    """The shapes that share one target declaration, indexed by their gate."""

    targets: Callable[[IndexedGraph], Sequence[Identifier]]
    ungated: list[_TopShape]
    gated: dict[URIRef, dict[Node, list[_TopShape]]]

    def shapes_for(self, data: IndexedGraph, focus: Identifier) -> Iterable[_TopShape]:
        yield from self.ungated
        for predicate, index in self.gated.items():
            seen: set[int] = set()
            for value in data.objects(focus, predicate):
                for top in index.get(value, ()):
                    if id(top) not in seen:
                        seen.add(id(top))
                        yield top


class CompiledShapes:
    """Every targeted shape of a shapes graph, compiled; the rest is left for pyshacl."""

    def __init__(self, shapes: Graph) -> None:
        compiler = _Compiler(shapes)
        self.compiled: list[_TopShape] = []
        self.residual = Graph()
        groups: dict[tuple[frozenset[Node], ...], _TargetGroup] = {}
        for shape in sorted(_targeted_shapes(shapes), key=str):
            try:
                results = (
                    compiler.node_shape(shape)
                    if (shape, SHACL["path"], None) not in shapes
                    else compiler.property_shape(shape)
                )
            except Unsupported:
                _copy_shape(shapes, shape, self.residual)
                continue
            key = _target_key(shapes, shape)
            group = groups.setdefault(key, _TargetGroup(_targets(shapes, shape), [], {}))
            top = _TopShape(shape, group.targets, results, _gate(shapes, compiler, shape))
            self.compiled.append(top)
            if top.gate is None:
                group.ungated.append(top)
            else:
                predicate, values = top.gate
                for value in values:
                    group.gated.setdefault(predicate, {}).setdefault(value, []).append(top)
        self.groups = list(groups.values())

    @property
    def complete(self) -> bool:
        return len(self.residual) == 0

    def validate(self, data: IndexedGraph) -> list[Result]:
        results: list[Result] = []
        for group in self.groups:
            for focus in group.targets(data):
                for top in group.shapes_for(data, focus):
                    results.extend(top.results(data, focus))
        return results


def _target_key(shapes: Graph, shape: Node) -> tuple[frozenset[Node], ...]:
    return tuple(
        frozenset(shapes.objects(shape, SHACL[t]))
        for t in ("targetSubjectsOf", "targetObjectsOf", "targetNode", "targetClass")
    )


def _targeted_shapes(shapes: Graph) -> set[Node]:
    found: set[Node] = set()
    for target in ("targetSubjectsOf", "targetObjectsOf", "targetNode", "targetClass"):
        found.update(shapes.subjects(SHACL[target], None))
    return found - set(shapes.subjects(SHACL["deactivated"], Literal(True)))


def _targets(shapes: Graph, shape: Node) -> Callable[[IndexedGraph], Sequence[Identifier]]:
    # Target values are IRIs (or literals for sh:targetNode); rdflib types them only as Node.
    subjects_of: list[Any] = list(shapes.objects(shape, SHACL["targetSubjectsOf"]))
    objects_of: list[Any] = list(shapes.objects(shape, SHACL["targetObjectsOf"]))
    nodes: list[Any] = list(shapes.objects(shape, SHACL["targetNode"]))
    classes: list[Any] = list(shapes.objects(shape, SHACL["targetClass"]))

    def targets(g: IndexedGraph) -> Sequence[Identifier]:
        found: dict[Identifier, None] = {}
        for p in subjects_of:
            found.update(g.by_predicate.get(p, {}))
        for p in objects_of:
            found.update(g.objects_by_predicate.get(p, {}))
        for node in nodes:
            found[node] = None
        for cls in classes:
            found.update(dict.fromkeys(g.subjects(RDF.type, cls)))
        return list(found)

    return targets


def _gate(shapes: Graph, compiler: _Compiler, shape: Node) -> tuple[URIRef, frozenset[Node]] | None:
    """The code gate of an implication shape, if it has one.

    Detects sh:or ( [ sh:not [ sh:and ( [ sh:property [ sh:path P ; sh:minCount 1 ; sh:in L ] ]
    ... ) ] ] ... ): when no value of P is in L, the shape conforms without further work.
    """
    heads = list(shapes.objects(shape, SHACL["or"]))
    if len(heads) != 1:
        return None
    members = compiler.items(heads[0])
    if not members:
        return None
    applies = shapes.value(members[0], SHACL["not"])
    conjunction = shapes.value(applies, SHACL["and"]) if applies is not None else None
    parts = (
        compiler.items(conjunction) if conjunction is not None else ([applies] if applies is not None else [])
    )
    for part in parts:
        for prop in shapes.objects(part, SHACL["property"]):
            path = shapes.value(prop, SHACL["path"])
            minimum = shapes.value(prop, SHACL["minCount"])
            listed = shapes.value(prop, SHACL["in"])
            has_value = shapes.value(prop, SHACL["hasValue"])
            if (
                isinstance(path, URIRef)
                and listed is not None
                and minimum is not None
                and int(str(minimum)) >= 1
            ):
                return path, frozenset(compiler.items(listed))
            if isinstance(path, URIRef) and has_value is not None:
                return path, frozenset([has_value])
    return None


def _copy_shape(source: Graph, shape: Node, target: Graph) -> None:
    """Copy a shape and everything reachable from it (nested shapes, lists)."""
    stack, seen = [shape], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in source.predicate_objects(node):
            target.add((node, p, o))
            if isinstance(o, BNode) or (
                isinstance(o, URIRef) and (o, None, None) in source and p != RDF.type
            ):
                stack.append(o)


def report_graph(results: list[Result], conforms: bool) -> Graph:
    """A W3C SHACL validation report for compiled results."""
    report = Graph()
    report.bind("sh", SHACL)
    root = BNode()
    report.add((root, RDF.type, SHACL["ValidationReport"]))
    report.add((root, SHACL["conforms"], Literal(conforms)))
    for result in results:
        node = BNode()
        report.add((root, SHACL["result"], node))
        report.add((node, RDF.type, SHACL["ValidationResult"]))
        report.add((node, SHACL["focusNode"], result.focus))
        if result.path is not None:
            report.add((node, SHACL["resultPath"], result.path))
        if result.value is not None:
            report.add((node, SHACL["value"], result.value))
        report.add((node, SHACL["sourceConstraintComponent"], result.component))
        report.add((node, SHACL["sourceShape"], result.source_shape))
        report.add((node, SHACL["resultSeverity"], result.severity))
        if result.message is not None:
            report.add((node, SHACL["resultMessage"], Literal(result.message)))
    return report
