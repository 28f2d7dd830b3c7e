"""The namespaces of payerkg terms and data; every module takes its IRIs from here."""

from collections.abc import Iterable
from typing import Self

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SH, SKOS, XSD, DefinedNamespace

from payerkg.ontology_terms import PK_TERMS

BASE = "https://w3id.org/payerkg/"


class ClosedCachedNamespace(Namespace):
    """A Namespace that knows its terms: each URIRef is built once, and a name outside them raises
    instead of minting a new IRI.

    rdflib's Namespace builds a new URIRef on every attribute access (a fifth of the time of a coverage
    answer) and DefinedNamespace checks membership on every access; here a term is a plain attribute.

    >>> EX = ClosedCachedNamespace("urn:ex#", ["Rule"])
    >>> EX.Rule, EX["Rule"] is EX.Rule
    (rdflib.term.URIRef('urn:ex#Rule'), True)
    >>> EX.Rul
    Traceback (most recent call last):
    AttributeError: 'Rul' is not a term of urn:ex#
    """

    def __new__(cls, value: str, terms: Iterable[str] = ()) -> Self:
        namespace = str.__new__(cls, value)
        namespace.__dict__.update({name: URIRef(value + name) for name in terms})
        return namespace

    def term(self, name: str) -> URIRef:
        try:
            term: URIRef = self.__dict__[name]
        except KeyError:
            raise KeyError(f"{name!r} is not a term of {self}") from None
        return term

    def __getattr__(self, name: str) -> URIRef:
        # Reached only for names that are not terms (terms are instance attributes).
        raise AttributeError(f"{name!r} is not a term of {self}")


PK = ClosedCachedNamespace(BASE + "ontology#", PK_TERMS)
CPT = Namespace(BASE + "code/cpt/")
HCPCS = Namespace(BASE + "code/hcpcs/")
POS = Namespace(BASE + "code/pos/")
MOD = Namespace(BASE + "code/modifier/")
GRP = Namespace(BASE + "code-group/")
SRC = Namespace(BASE + "source/")
PAYER = Namespace(BASE + "payer/")
RULE = Namespace(BASE + "rule/")
RV = Namespace(BASE + "rule-version/")
DOC = Namespace(BASE + "documentation/")
COND = Namespace(BASE + "condition/")
PT = Namespace(BASE + "practitioner-type/")
FILE_GRAPH = Namespace("urn:payerkg:file:")
GRAPHS = Namespace(BASE + "graph/")
"""Where the store's other named graphs live: the revision records, one graph per edit."""
STORED_GRAPHS = (FILE_GRAPH, GRAPHS)
"""The prefixes of every named graph payerkg writes; a shared SPARQL server may hold others."""

PREFIXES: dict[str, Namespace | type[DefinedNamespace]] = {
    "pk": PK,
    "cpt": CPT,
    "hcpcs": HCPCS,
    "pos": POS,
    "mod": MOD,
    "grp": GRP,
    "src": SRC,
    "payer": PAYER,
    "rule": RULE,
    "rv": RV,
    "doc": DOC,
    "cond": COND,
    "pt": PT,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "prov": PROV,
    "xsd": XSD,
    "sh": SH,
}
