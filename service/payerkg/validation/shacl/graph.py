"""The data graph, indexed for the engine: by subject, by object on demand, and by class."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rdflib import URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.term import Identifier

Triple = tuple[Identifier, URIRef, Identifier]
Values = list[Identifier]
# Read once: rdflib's closed namespaces look each term up again on every access.
TYPE = RDF.type
SUBCLASS_OF = RDFS.subClassOf


class IndexedGraph:
    """A small read-only graph indexed by subject, and by object for the predicates asked about.

    Most of an encounter's objects are literals, which rdflib hashes slowly; only the few
    predicates that inverse paths and targets follow are indexed the other way round.

    >>> from rdflib import Literal
    >>> ex = "https://example.org/"
    >>> g = IndexedGraph([(URIRef(ex + "a"), RDF.type, URIRef(ex + "Dog")),
    ...                   (URIRef(ex + "Dog"), RDFS.subClassOf, URIRef(ex + "Animal"))])
    >>> g.instances(URIRef(ex + "Animal"))
    [rdflib.term.URIRef('https://example.org/a')]
    """

    def __init__(self, triples: Iterable[Triple]) -> None:
        self.out: dict[Identifier, dict[URIRef, Values]] = {}
        self.pairs: dict[URIRef, list[tuple[Identifier, Identifier]]] = {}
        self.inverse: dict[URIRef, dict[Identifier, Values]] = {}
        # Path values and nested-shape verdicts already computed for this graph.
        self.memo: dict[tuple[Any, Identifier], Any] = {}
        self._superclasses: dict[Identifier, frozenset[Identifier]] = {}
        self._instances: dict[Identifier, Values] = {}
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

    def predicates(self, node: Identifier) -> Iterable[URIRef]:
        found = self.out.get(node)
        return found.keys() if found is not None else ()

    def superclasses(self, cls: Identifier) -> frozenset[Identifier]:
        """``cls`` and every class it is an ``rdfs:subClassOf*`` of, in this graph."""
        found = self._superclasses.get(cls)
        if found is None:
            found = self._superclasses[cls] = frozenset(
                reachable(cls, lambda c: self.objects(c, SUBCLASS_OF))
            )
        return found

    def is_instance(self, node: Identifier, cls: Identifier) -> bool:
        """Whether ``node`` is a SHACL instance of ``cls``: of a type that is ``cls`` or one of
        its subclasses."""
        return any(cls in self.superclasses(t) for t in self.objects(node, TYPE))

    def instances(self, cls: Identifier) -> Values:
        """Every SHACL instance of ``cls``, in the order first typed."""
        found = self._instances.get(cls)
        if found is None:
            members: dict[Identifier, None] = {}
            for node, t in self.pairs.get(TYPE, ()):
                if cls in self.superclasses(t):
                    members[node] = None
            found = self._instances[cls] = list(members)
        return found


def reachable(start: Any, successors: Callable[[Any], Iterable[Any]]) -> set[Any]:
    """``start`` and every node reached from it by following ``successors`` (cycles allowed)."""
    seen, stack = {start}, [start]
    while stack:
        for following in successors(stack.pop()):
            if following not in seen:
                seen.add(following)
                stack.append(following)
    return seen
