"""What a constraint component compiles to, and what it may ask of the compiler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rdflib import URIRef
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.graph import IndexedGraph, Values
from payerkg.validation.shacl.shapes import ShapesGraph, sh

Check = Callable[[IndexedGraph, Identifier], bool]
# One result of a set-level constraint: its sh:value (None for none) and, for sh:closed, the
# predicate that is its sh:resultPath (None for the shape's own path).
Failure = tuple[Identifier | None, Node | None]
SetTest = Callable[[IndexedGraph, Identifier, Values], bool]
SetFailures = Callable[[IndexedGraph, Identifier, Values], list[Failure]]
NO_VALUE: Failure = (None, None)


@dataclass(frozen=True)
class Constraint:
    """One constraint of a shape: either a test of each value node on its own (``each``; a
    failing value node is the result's sh:value), or a test of the focus node and its value
    nodes together (``holds``, with ``failures`` giving the results when it does not hold)."""

    component: URIRef
    each: Check | None = None
    holds: SetTest | None = None
    failures: SetFailures | None = None
    # What the compiler may test inline on a property shape's value nodes, without calling
    # ``holds`` (it runs for every claim line): a count range, or a value that must be among them.
    counts: tuple[int, int | None] | None = None
    required: Node | None = None


@dataclass(frozen=True)
class Context:
    """The shape being compiled, as a component sees it."""

    shapes: ShapesGraph
    shape: Node
    is_property: bool
    conforms: Callable[[Node], Check]  # a nested shape, compiled to "does this node conform?"


Build = Callable[[Context, Node], list[Constraint]]


@dataclass(frozen=True)
class Component:
    """A SHACL Core constraint component: its main parameter, how one value of it compiles, the
    parameters it reads beside it, and where it may appear."""

    parameter: str
    build: Build
    auxiliary: tuple[str, ...] = ()
    single: bool = False  # a shape has at most one value of the parameter
    property_only: bool = False


def component(name: str) -> URIRef:
    return sh(f"{name}ConstraintComponent")
