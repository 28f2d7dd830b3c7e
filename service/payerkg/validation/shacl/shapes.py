"""The shapes graph as the compiler reads it: parameters, lists, and the errors of reading them."""

from __future__ import annotations

import functools

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from payerkg.validation.shacl.graph import SUBCLASS_OF, TYPE, reachable

SHACL = SH._NS
TRUE = Literal(True)
CLASS = RDFS.Class


@functools.cache
def sh(name: str) -> URIRef:
    """``sh:name``, made once: a Namespace look-up makes and checks the IRI every time (a third of
    the time compiling the shipped shapes took)."""
    return SHACL[name]


class Unsupported(Exception):
    """A shape uses a SHACL feature the engine does not compile (it goes, whole, to pyshacl)."""


class ShapeError(ValueError):
    """A shape that is not well-formed SHACL: it names the shape and says why.

    >>> str(ShapeError(URIRef("https://example.org/S"), "sh:minCount must be an integer"))
    'shape <https://example.org/S>: sh:minCount must be an integer'
    """

    def __init__(self, shape: Node, reason: str) -> None:
        super().__init__(f"shape {shape.n3()}: {reason}")
        self.shape = shape
        self.reason = reason

    def __reduce__(self) -> tuple[type[ShapeError], tuple[Node, str]]:
        return (ShapeError, (self.shape, self.reason))


class ShapesGraph:
    """Read access to a shapes graph, with each RDF list read once (rule shapes share theirs).
    It holds plain dicts, so it pickles without the graph it was read from."""

    def __init__(self, graph: Graph) -> None:
        self._lists: dict[Node, list[Node]] = {}
        # Every statement read once into plain dicts: compiling looks each shape up many times,
        # and an rdflib look-up costs far more than a dict's.
        out: dict[Node, dict[Node, dict[Node, None]]] = {}
        self._in: dict[Node, set[Node]] = {}
        for s, p, o in graph:  # a dataset may give one statement once per graph holding it
            out.setdefault(s, {}).setdefault(p, {})[o] = None
            self._in.setdefault(o, set()).add(s)
        self._out = {s: {p: list(o) for p, o in po.items()} for s, po in out.items()}

    def graph(self) -> Graph:
        """The statements read, as an rdflib graph."""
        graph = Graph()
        for s, po in self._out.items():
            for p, objects in po.items():
                for o in objects:
                    graph.add((s, p, o))
        return graph

    def subjects(self) -> list[Node]:
        """Every subject of a statement."""
        return list(self._out)

    def objects(self, subject: Node, predicate: Node) -> list[Node]:
        """The objects of ``subject``'s ``predicate`` statements."""
        return self._out.get(subject, {}).get(predicate, [])

    def value(self, subject: Node, predicate: Node) -> Node | None:
        """One object of ``subject``'s ``predicate`` statements, or None (as ``Graph.value``)."""
        found = self.objects(subject, predicate)
        return found[0] if found else None

    def predicate_objects(self, subject: Node) -> list[tuple[Node, Node]]:
        return [(p, o) for p, objects in self._out.get(subject, {}).items() for o in objects]

    def referrers(self, node: Node) -> set[Node]:
        """The subjects of statements whose object is ``node``."""
        return self._in.get(node, set())

    def items(self, shape: Node, head: Node, parameter: str) -> list[Node]:
        """The members of the well-formed RDF list ``head``, the value of ``parameter``."""
        if head not in self._lists:
            members: list[Node] = []
            node, seen = head, set()
            while node != RDF.nil:
                first = self.objects(node, RDF.first)
                rest = self.objects(node, RDF.rest)
                if node in seen or len(first) != 1 or len(rest) != 1 or not isinstance(node, BNode):
                    raise ShapeError(shape, f"the value of sh:{parameter} is not a well-formed list")
                seen.add(node)
                members.append(first[0])
                node = rest[0]
            self._lists[head] = members
        return self._lists[head]

    def values(self, shape: Node, parameter: str) -> list[Node]:
        return list(self.objects(shape, sh(parameter)))

    def one(self, shape: Node, parameter: str) -> Node | None:
        """The value of a parameter a shape may have at most once."""
        found = self.values(shape, parameter)
        if len(found) > 1:
            raise ShapeError(shape, f"sh:{parameter} has {len(found)} values; a shape may have one")
        return found[0] if found else None

    def is_true(self, shape: Node, parameter: str) -> bool:
        """Whether a boolean parameter is ``true`` (``"1"`` or any other literal does not count)."""
        value = self.one(shape, parameter)
        return value is not None and value == TRUE

    def is_property_shape(self, shape: Node) -> bool:
        return bool(self.objects(shape, sh("path")))

    def is_deactivated(self, shape: Node) -> bool:
        return any(value == TRUE for value in self.values(shape, "deactivated"))

    def is_class(self, node: Node) -> bool:
        """Whether ``node`` is a SHACL instance of rdfs:Class in the shapes graph."""
        return any(t == CLASS or CLASS in self.superclasses(t) for t in self.objects(node, TYPE))

    def superclasses(self, cls: Node) -> set[Node]:
        """``cls`` and every class it is a ``rdfs:subClassOf*`` of, in the shapes graph."""
        return reachable(cls, lambda c: self.objects(c, SUBCLASS_OF))


def integer(shape: Node, parameter: str, value: Node) -> int:
    """A non-negative xsd:integer parameter value."""
    if (
        not isinstance(value, Literal)
        or value.datatype != XSD.integer
        or value.ill_typed
        or not isinstance(value.value, int)
        or value.value < 0
    ):
        raise ShapeError(shape, f"sh:{parameter} must be a non-negative xsd:integer, not {value.n3()}")
    return value.value


def iri(shape: Node, parameter: str, value: Node) -> URIRef:
    if not isinstance(value, URIRef):
        raise ShapeError(shape, f"sh:{parameter} must be an IRI, not {value.n3()}")
    return value
