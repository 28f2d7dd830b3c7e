"""The namespaces of payerkg terms and data; every module takes its IRIs from here."""

from rdflib import Namespace
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SH, SKOS, XSD, DefinedNamespace

BASE = "https://w3id.org/payerkg/"

PK = Namespace(BASE + "ontology#")
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
