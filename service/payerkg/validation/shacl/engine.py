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
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
    """A small read-only graph indexed by subject, and by object for the predicates asked about.

    Most of an encounter's objects are literals, which rdflib hashes slowly; only the few
    predicates that inverse paths and targets follow are indexed the other way round.
    """

    def __init__(self, triples: Iterable[Triple]) -> None:
        self.out: dict[Identifier, dict[URIRef, Values]] = {}
        self.pairs: dict[URIRef, list[tuple[Identifier, Identifier]]] = {}
        self.inverse: dict[URIRef, dict[Identifier, Values]] = {}
        # Path values and nested-shape verdicts already computed for this graph.
        self.memo: dict[tuple[Any, Identifier], Any] = {}
        for s, p, o in triples:
            self.out.setdefault(s, {}).setdefault(p, []).append(o)
            self.pairs.setdefault(p, []).append((s, o))

    def objects(self, node: Identifier, predicate: URIRef) -> Values:
        found = self.out.get(node)
        return found.get(predicate, []) if found is not None else []

    def subjects(self, predicate: URIRef, node: Identifier) -> Values:
        inverse = self.inverse.get(predicate)
        if inverse is None:
            inverse = self.inverse[predicate] = {}
            for s, o in self.pairs.get(predicate, ()):
                inverse.setdefault(o, []).append(s)
        return inverse.get(node, [])

    def subjects_of(self, predicate: URIRef) -> Iterable[Identifier]:
        return (s for s, _ in self.pairs.get(predicate, ()))

    def objects_of(self, predicate: URIRef) -> Iterable[Identifier]:
        return (o for _, o in self.pairs.get(predicate, ()))


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
Checker = Callable[[IndexedGraph, Identifier], list[Result]]


def _distinct(values: Iterable[Identifier]) -> Values:
    if isinstance(values, list) and len(values) < 2:
        return values
    return list(dict.fromkeys(values))


class _Compiler:
    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.checks: dict[Node, Check] = {}
        self.paths: dict[Any, Path] = {}
        self.lists: dict[Node, list[Node]] = {}
        self.compiling: set[Node] = set()

    def items(self, head: Node) -> list[Node]:
        # Rule shapes share their lists (codes, payers, APPLIES); rdflib reads each slowly.
        if head not in self.lists:
            self.lists[head] = list(Collection(self.shapes, head))
        return self.lists[head]

    def path(self, node: Node) -> Path:
        """The value nodes of a path, memoised per focus within one validation."""
        return self.keyed_path(self.path_key(node))

    def path_key(self, node: Node) -> Any:
        """A structural key: two shapes with the same path share the memo."""
        if isinstance(node, URIRef):
            return node
        inverse = self.shapes.value(node, SHACL["inversePath"])
        if isinstance(inverse, URIRef):
            return ("^", inverse)
        if (node, RDF.first, None) in self.shapes:
            return ("/", *(self.path_key(step) for step in self.items(node)))
        raise Unsupported(f"path {node}")

    def keyed_path(self, key: Any) -> Path:
        if key not in self.paths:
            evaluate = self.step(key)
            # A number is a memo key cheaper to hash than the path itself.
            self.paths[key] = _memoised(len(self.paths), evaluate)
        return self.paths[key]

    def step(self, key: Any) -> Path:
        if isinstance(key, URIRef):
            return lambda g, focus: _distinct(g.objects(focus, key))
        if key[0] == "^":
            inverse = key[1]
            return lambda g, focus: _distinct(g.subjects(inverse, focus))
        *steps, last = key[1:]
        # Paths from a claim line up to its encounter share their first steps: memoise them.
        head = self.keyed_path(steps[0] if len(steps) == 1 else ("/", *steps)) if steps else None
        tail = self.step(last)

        def sequence(g: IndexedGraph, focus: Identifier) -> Values:
            nodes = head(g, focus) if head is not None else [focus]
            if len(nodes) == 1:
                return tail(g, nodes[0])
            return _distinct([value for node in nodes for value in tail(g, node)])

        return sequence

    def conforms(self, shape: Node) -> Check:
        """Whether a node conforms to ``shape`` (nested shapes).

        A shape nested in several places is memoised per node within one validation: one rule
        version's APPLIES shape is shared by all its requirement shapes, so it is evaluated once
        per claim line. A shape nested once is cheaper to evaluate than to look up.
        """
        if shape not in self.checks:
            ok = self.node(shape)[1]
            if len(list(self.shapes.subjects(None, shape))) < 2:
                self.checks[shape] = ok
                return ok
            self.checks[shape] = _memoised(shape, ok)
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
        ok = _all_of([test for _, test in tests] + [ok for _, ok in properties])

        # Most focus nodes conform: the plain yes/no answers that first, without building results.
        def results(g: IndexedGraph, focus: Identifier) -> list[Result]:
            if ok(g, focus):
                return []
            found = [
                Result(focus, None, focus, component, shape, severity, text)
                for component, test in tests
                if not test(g, focus)
            ]
            for checker, _ in properties:
                found.extend(checker(g, focus))
            return found

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

        def results(g: IndexedGraph, focus: Identifier) -> list[Result]:
            if ok(g, focus):
                return []
            return [
                Result(focus, path_node, value, component, shape, severity, text)
                for component, value in failures(g, path(g, focus))
            ]

        # Plain loops, as in _all_of: nested shapes evaluate this for every claim line.
        def ok(g: IndexedGraph, focus: Identifier) -> bool:
            values = path(g, focus)
            count = len(values)
            for bound in minimum_counts:
                if count < bound:
                    return False
            for bound in maximum_counts:
                if count > bound:
                    return False
            for value in has_values:
                if value not in values:
                    return False
            for inner, least in qualified:
                if sum(1 for v in values if inner(g, v)) < least:
                    return False
            for test in plain_tests:
                for value in values:
                    if not test(g, value):
                        return False
            return True

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


# Loops rather than any()/all() over a generator, which costs more than these checks (every
# rule shape is an sh:or, evaluated for every claim line).
def _any_of(checks: list[Check]) -> Check:
    def any_holds(g: IndexedGraph, value: Identifier) -> bool:
        for check in checks:  # noqa: SIM110
            if check(g, value):
                return True
        return False

    return any_holds


def _all_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def all_hold(g: IndexedGraph, value: Identifier) -> bool:
        for check in checks:  # noqa: SIM110
            if not check(g, value):
                return False
        return True

    return all_hold


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


# A necessary condition for a shape to report anything: some value of the path (by its key) is
# one of the values.
Condition = tuple[Any, frozenset[Node]]


@dataclass(eq=False)
class _TopShape:
    shape: Node
    results: Checker


@dataclass
class _Gate:
    """A node of a tree of necessary conditions: the shapes whose conditions all hold on the way
    here, and branches on the values of further paths.

    A focus walks only the branches its own values open, so the many rule shapes whose code,
    payer or scope it does not have are never evaluated, and a path is read only where a
    branch needs it.
    """

    shapes: list[_TopShape] = field(default_factory=list)
    branches: dict[Any, tuple[Path, dict[Node, _Gate]]] = field(default_factory=dict)

    def add(self, compiler: _Compiler, conditions: list[Condition], top: _TopShape) -> None:
        if not conditions:
            self.shapes.append(top)
            return
        (key, allowed), rest = conditions[0], conditions[1:]
        _, children = self.branches.setdefault(key, (compiler.keyed_path(key), {}))
        for value in sorted(allowed, key=str):
            children.setdefault(value, _Gate()).add(compiler, rest, top)

    def open(self, data: IndexedGraph, focus: Identifier, found: dict[_TopShape, None]) -> None:
        """Add the shapes ``focus`` opens to ``found`` (a focus with two values on a path may
        reach one shape twice)."""
        found.update(dict.fromkeys(self.shapes))
        for path, children in self.branches.values():
            for value in path(data, focus):
                child = children.get(value)
                if child is not None:
                    child.open(data, focus, found)


@dataclass
class _TargetGroup:
    """The shapes that share one target declaration, behind their conditions."""

    targets: Callable[[IndexedGraph], Sequence[Identifier]]
    gate: _Gate


class CompiledShapes:
    """Every targeted shape of a shapes graph, compiled; the rest is left for pyshacl."""

    def __init__(self, shapes: Graph) -> None:
        compiler = _Compiler(shapes)
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
            group = groups.setdefault(key, _TargetGroup(_targets(shapes, shape), _Gate()))
            group.gate.add(compiler, _conditions(shapes, compiler, shape), _TopShape(shape, results))
        self.groups = list(groups.values())

    @property
    def complete(self) -> bool:
        return len(self.residual) == 0

    def validate(self, data: IndexedGraph) -> list[Result]:
        results: list[Result] = []
        for group in self.groups:
            for focus in group.targets(data):
                opened: dict[_TopShape, None] = {}
                group.gate.open(data, focus, opened)
                for top in opened:
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
            found.update(dict.fromkeys(g.subjects_of(p)))
        for p in objects_of:
            found.update(dict.fromkeys(g.objects_of(p)))
        for node in nodes:
            found[node] = None
        for cls in classes:
            found.update(dict.fromkeys(g.subjects(RDF.type, cls)))
        return list(found)

    return targets


def _conditions(shapes: Graph, compiler: _Compiler, shape: Node) -> list[Condition]:
    """The necessary conditions of an implication shape: none if it is not one.

    A shape whose only constraint is sh:or ( [ sh:not APPLIES ] ... ) conforms whenever APPLIES
    does not; APPLIES (one node shape or an sh:and of them) requires, for each of its properties
    [ sh:path P ; sh:minCount 1 ; sh:in L ] or [ sh:path P ; sh:hasValue V ], a value of P in L
    (or V).
    """
    heads = compiler.constraints(shape)
    if list(heads) != [SHACL["or"]] or len(heads[SHACL["or"]]) != 1:
        return []
    members = compiler.items(heads[SHACL["or"]][0])
    negation = compiler.constraints(members[0]) if members else {}
    if list(negation) != [SHACL["not"]] or len(negation[SHACL["not"]]) != 1:
        return []
    applies = negation[SHACL["not"]][0]
    conjunction = shapes.value(applies, SHACL["and"])
    parts = [applies, *(compiler.items(conjunction) if conjunction is not None else [])]
    conditions: list[Condition] = []
    for prop in (p for part in parts for p in shapes.objects(part, SHACL["property"])):
        path = shapes.value(prop, SHACL["path"])
        if path is None:
            continue
        minimum = shapes.value(prop, SHACL["minCount"])
        listed = shapes.value(prop, SHACL["in"])
        key = compiler.path_key(path)
        if listed is not None and minimum is not None and int(str(minimum)) >= 1:
            conditions.append((key, frozenset(compiler.items(listed))))
        conditions.extend((key, frozenset([value])) for value in shapes.objects(prop, SHACL["hasValue"]))
    # One order for every shape, so shapes share branches whatever order their parts came in;
    # plain predicates (the line's code) first, as they are the cheapest to read.
    return sorted(conditions, key=lambda c: (not isinstance(c[0], URIRef), str(c[0])))


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


R = TypeVar("R")


def _memoised(
    tag: object, evaluate: Callable[[IndexedGraph, Identifier], R]
) -> Callable[[IndexedGraph, Identifier], R]:
    """``evaluate`` remembered per focus node within one validation (the encounter's memo)."""

    def cached(g: IndexedGraph, focus: Identifier) -> R:
        found = g.memo.get((tag, focus))
        if found is None:
            found = g.memo[(tag, focus)] = evaluate(g, focus)
        return found

    return cached
