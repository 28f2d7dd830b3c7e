"""Gates: implication shapes are evaluated only for the focus nodes that can meet their conditions.

A shape whose only constraint is ``sh:or ( [ sh:not APPLIES ] ... )`` conforms whenever APPLIES
does not. APPLIES (one node shape or an sh:and of them) requires, for each of its properties
``[ sh:path P ; sh:minCount 1 ; sh:in L ]`` or ``[ sh:path P ; sh:hasValue V ]``, a value of P
in L (or V). Every rule shape payerkg derives has this form; a focus walks only the branches its
own values open, so the many rule shapes whose code, payer or scope it does not have are never
evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rdflib import Literal, URIRef
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.compile import Compiler
from payerkg.validation.shacl.graph import IndexedGraph
from payerkg.validation.shacl.paths import Path, path_key
from payerkg.validation.shacl.shapes import sh

# A necessary condition for a shape to report anything: some value of the path (by its key) is
# one of the values.
Condition = tuple[Any, frozenset[Node]]


@dataclass
class Gate:
    """A node of a tree of necessary conditions: the shapes whose conditions all hold on the way
    here, and branches on the values of further paths (by their keys)."""

    shapes: list[Node] = field(default_factory=list)
    branches: dict[Any, dict[Node, Gate]] = field(default_factory=dict)

    def add(self, conditions: list[Condition], shape: Node) -> None:
        if not conditions:
            self.shapes.append(shape)
            return
        (key, allowed), rest = conditions[0], conditions[1:]
        children = self.branches.setdefault(key, {})
        for value in sorted(allowed, key=str):
            children.setdefault(value, Gate()).add(rest, shape)

    def path_keys(self) -> set[Any]:
        """The keys of the paths this gate and those below it branch on."""
        found = set(self.branches)
        for children in self.branches.values():
            for child in children.values():
                found |= child.path_keys()
        return found

    def open(
        self, data: IndexedGraph, focus: Identifier, paths: dict[Any, Path], found: dict[Node, None]
    ) -> None:
        """Add the shapes ``focus`` opens to ``found`` (a focus with two values on a path may
        reach one shape twice); ``paths`` are the compiled paths by key."""
        found.update(dict.fromkeys(self.shapes))
        for key, children in self.branches.items():
            for value in paths[key](data, focus):
                child = children.get(value)
                if child is not None:
                    child.open(data, focus, paths, found)


def conditions(compiler: Compiler, shape: Node) -> list[Condition]:
    """The necessary conditions of an implication shape: none if it is not one (the shape is then
    evaluated for every focus node)."""
    shapes = compiler.shapes
    heads = compiler.parameters(shape)
    if list(heads) != ["or"] or len(heads["or"]) != 1 or shapes.value(shape, sh("path")) is not None:
        return []
    members = shapes.items(shape, heads["or"][0], "or")
    negation = compiler.parameters(members[0]) if members else {}
    if list(negation) != ["not"] or len(negation["not"]) != 1 or _inactive(compiler, members[0]):
        return []
    applies = negation["not"][0]
    conjunction = shapes.value(applies, sh("and"))
    parts = [applies, *(shapes.items(applies, conjunction, "and") if conjunction is not None else [])]
    if any(_inactive(compiler, part) for part in parts):
        return []
    found: list[Condition] = []
    for prop in (p for part in parts for p in shapes.objects(part, sh("property"))):
        path = shapes.value(prop, sh("path"))
        if path is None or _inactive(compiler, prop):
            continue
        minimum = shapes.value(prop, sh("minCount"))
        listed = shapes.value(prop, sh("in"))
        key = path_key(shapes, prop, path)
        if (
            listed is not None
            and isinstance(minimum, Literal)
            and isinstance(minimum.value, int)
            and minimum.value >= 1
        ):
            found.append((key, frozenset(shapes.items(prop, listed, "in"))))
        found.extend((key, frozenset([value])) for value in shapes.objects(prop, sh("hasValue")))
    # One order for every shape, so shapes share branches whatever order their parts came in;
    # plain predicates (the line's code) first, as they are the cheapest to read.
    return sorted(found, key=lambda c: (not isinstance(c[0], URIRef), str(c[0])))


def _inactive(compiler: Compiler, shape: Node) -> bool:
    """A deactivated shape conforms to everything, and a path or value that is not an
    IRI list is not a condition this reads: either way, no gating."""
    return compiler.shapes.is_deactivated(shape)
