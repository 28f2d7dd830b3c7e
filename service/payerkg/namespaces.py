"""The namespaces of payerkg terms and data; every module takes its IRIs from here."""

from functools import cache

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SH, SKOS, XSD, DefinedNamespace

BASE = "https://w3id.org/payerkg/"


@cache
def _term(base: str, name: str) -> URIRef:
    return URIRef(base + name)


class CachedNamespace(Namespace):
    """A Namespace whose terms are built once: rdflib validates and builds a new URIRef on every
    attribute access, which showed up as a fifth of the time of a coverage answer."""

    def term(self, name: str) -> URIRef:
        return _term(str(self), name)


PK = CachedNamespace(BASE + "ontology#")
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
