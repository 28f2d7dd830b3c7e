"""Property paths: read from the shapes graph into a structural key, and evaluated on the data.

A key is a predicate IRI, ``("^", iri)``, ``("/", *keys)``, ``("|", *keys)``, or ``("*", key)``,
``("+", key)``, ``("?", key)``; an inverse of a complex path is pushed down to its predicates.
Two shapes with the same path share one key, so its values are read once per focus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rdflib import BNode, URIRef
from rdflib.namespace import RDF
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.graph import IndexedGraph, Values
from payerkg.validation.shacl.shapes import SHACL, ShapeError, ShapesGraph

Path = Callable[[IndexedGraph, Identifier], Values]
REPEATS = {"zeroOrMorePath": "*", "oneOrMorePath": "+", "zeroOrOnePath": "?"}


def path_key(shapes: ShapesGraph, shape: Node, node: Node, depth: int = 0) -> Any:
    """The structural key of the path ``node`` (the value of ``shape``'s sh:path).

    >>> from rdflib import Graph
    >>> g = Graph().parse(data='''@prefix sh: <http://www.w3.org/ns/shacl#> .
    ... <s> sh:path ( [ sh:inversePath ( <a> <b> ) ] [ sh:zeroOrMorePath <c> ] ) .''', format="turtle")
    >>> reader = ShapesGraph(g)
    >>> key = path_key(reader, None, next(g.objects(None, SHACL["path"])))
    >>> [k if isinstance(k, str) else k[0] for k in key]
    ['/', '/', '*']
    """
    if isinstance(node, URIRef):
        return node
    if not isinstance(node, BNode) or depth > 64:
        raise ShapeError(shape, f"sh:path {node.n3()} is not a well-formed path")
    if shapes.objects(node, RDF.first):  # a list is a sequence, whatever else the node says
        members = shapes.items(shape, node, "path")
        if len(members) < 2:
            raise ShapeError(shape, "a sequence path needs at least two members")
        return ("/", *(path_key(shapes, shape, m, depth + 1) for m in members))
    described = [
        (str(p)[len(str(SHACL)) :], o)
        for p, o in shapes.predicate_objects(node)
        if str(p).startswith(str(SHACL))
    ]
    if len(described) == 1:
        kind, value = described[0]
        if kind == "inversePath":
            return invert(path_key(shapes, shape, value, depth + 1))
        if kind == "alternativePath":
            members = shapes.items(shape, value, "alternativePath")
            if len(members) < 2:
                raise ShapeError(shape, "sh:alternativePath needs a list of at least two paths")
            return ("|", *(path_key(shapes, shape, m, depth + 1) for m in members))
        if kind in REPEATS:
            return (REPEATS[kind], path_key(shapes, shape, value, depth + 1))
    raise ShapeError(shape, f"sh:path {node.n3()} is not a well-formed path")


def invert(key: Any) -> Any:
    if isinstance(key, URIRef):
        return ("^", key)
    kind, *members = key
    if kind == "^":
        return members[0]
    if kind == "/":
        return ("/", *(invert(m) for m in reversed(members)))
    return (kind, *(invert(m) for m in members))


def distinct(values: Values) -> Values:
    if len(values) < 2:
        return values
    return list(dict.fromkeys(values))


class Paths:
    """Every path of one compilation, each evaluated once per focus within one validation."""

    def __init__(self) -> None:
        self.paths: dict[Any, Path] = {}

    def get(self, key: Any) -> Path:
        if key not in self.paths:
            evaluate = self._step(key)
            # A number is a memo key cheaper to hash than the path itself.
            self.paths[key] = memoised(len(self.paths), evaluate)
        return self.paths[key]

    def _step(self, key: Any) -> Path:
        if isinstance(key, URIRef):
            return lambda g, focus: distinct(g.objects(focus, key))
        kind, *members = key
        if kind == "^":
            inverse = members[0]
            return lambda g, focus: distinct(g.subjects(inverse, focus))
        if kind == "/":
            return self._sequence(members)
        if kind == "|":
            alternatives = [self.get(m) for m in members]
            return lambda g, focus: distinct([v for step in alternatives for v in step(g, focus)])
        inner = self.get(members[0])
        if kind == "?":
            return lambda g, focus: distinct([focus, *inner(g, focus)])
        return _closure(inner, reflexive=kind == "*")

    def _sequence(self, steps: list[Any]) -> Path:
        *heads, last = steps
        # Paths from a claim line up to its encounter share their first steps: memoise them.
        head = self.get(heads[0] if len(heads) == 1 else ("/", *heads))
        tail = self.get(last) if not isinstance(last, URIRef) else self._step(last)

        def sequence(g: IndexedGraph, focus: Identifier) -> Values:
            nodes = head(g, focus)
            if len(nodes) == 1:
                return tail(g, nodes[0])
            return distinct([value for node in nodes for value in tail(g, node)])

        return sequence


def _closure(step: Path, reflexive: bool) -> Path:
    def reach(g: IndexedGraph, focus: Identifier) -> Values:
        found: dict[Identifier, None] = {focus: None} if reflexive else {}
        frontier = [focus]
        while frontier:
            node = frontier.pop()
            for value in step(g, node):
                if value not in found:
                    found[value] = None
                    frontier.append(value)
        return list(found)

    return reach


def memoised(tag: object, evaluate: Callable[[IndexedGraph, Identifier], Any]) -> Any:
    """``evaluate`` remembered per focus node within one validation (the data graph's memo)."""

    def cached(g: IndexedGraph, focus: Identifier) -> Any:
        found = g.memo.get((tag, focus))
        if found is None:
            found = g.memo[(tag, focus)] = evaluate(g, focus)
        return found

    return cached
