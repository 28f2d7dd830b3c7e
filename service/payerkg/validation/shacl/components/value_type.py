"""Value type constraint components: sh:class, sh:datatype, sh:nodeKind."""

from __future__ import annotations

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.components.base import Check, Component, Constraint, Context, component
from payerkg.validation.shacl.graph import IndexedGraph
from payerkg.validation.shacl.shapes import ShapeError, iri, sh


def _class(context: Context, value: Node) -> list[Constraint]:
    cls = iri(context.shape, "class", value)
    return [Constraint(component("Class"), each=lambda g, node: g.is_instance(node, cls))]


def _datatype(context: Context, value: Node) -> list[Constraint]:
    datatype = iri(context.shape, "datatype", value)
    return [Constraint(component("Datatype"), each=lambda g, node: has_datatype(node, datatype))]


LANG_STRING = RDF.langString  # read once: rdflib's closed namespaces look terms up on each access
STRING = XSD.string


def has_datatype(value: Identifier, datatype: Node) -> bool:
    """Whether a value is a well-formed literal of ``datatype`` (rdf:langString: any tagged one).

    >>> has_datatype(Literal("hi", lang="en"), RDF.langString), has_datatype(Literal("x"), XSD.string)
    (True, True)
    >>> has_datatype(Literal("1.5", datatype=XSD.integer), XSD.integer)
    False
    """
    if not isinstance(value, Literal):
        return False
    if value.language is not None:
        return datatype == LANG_STRING
    if value.datatype is None:
        return datatype == STRING
    return value.datatype == datatype and not value.ill_typed


NODE_KINDS: dict[URIRef, tuple[type, ...]] = {
    sh("IRI"): (URIRef,),
    sh("BlankNode"): (BNode,),
    sh("Literal"): (Literal,),
    sh("BlankNodeOrIRI"): (BNode, URIRef),
    sh("BlankNodeOrLiteral"): (BNode, Literal),
    sh("IRIOrLiteral"): (URIRef, Literal),
}


def _node_kind(context: Context, value: Node) -> list[Constraint]:
    kinds = NODE_KINDS.get(value)  # type: ignore[call-overload]
    if kinds is None:
        raise ShapeError(context.shape, f"sh:nodeKind {value.n3()} is not one of the six node kinds")

    def check(g: IndexedGraph, node: Identifier) -> bool:
        return isinstance(node, kinds)

    each: Check = check
    return [Constraint(component("NodeKind"), each=each)]


COMPONENTS = (
    Component("class", _class),
    Component("datatype", _datatype, single=True),
    Component("nodeKind", _node_kind, single=True),
)
