"""Where imported statements come from, and how an import joins the graph.

Every import names its file: one source node per file (its name, SHA-256, publication date and
the address it was downloaded from), and one citation per row a statement rests on. An import is
a change like any editor's: proposed against the newest revision, checked (policy shapes,
references, conflicts), and committed with the reason ``import <file> <sha256>``. A file whose
digest is already in the graph was imported before: importing it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from payerkg.editing import proposals as editing
from payerkg.editing.revisions import RevisionRecord
from payerkg.graph.dataset import PolicyGraph
from payerkg.importers.tables import Row, SourceFile
from payerkg.namespaces import PK, SRC
from payerkg.stores import Store

IMPORT_AUTHOR = "payerkg import"
CMS = "Centers for Medicare & Medicaid Services"


@dataclass(frozen=True)
class FileProvenance:
    """The downloaded file an import reads, and what the importer knows about it."""

    file: SourceFile
    title: str
    url: str
    published: date
    read_on: date

    @property
    def source(self) -> URIRef:
        """One source node per file content: the same bytes under another name are the same source."""
        return SRC[f"import-{self.file.sha256[:16]}"]

    @property
    def reason(self) -> str:
        return f"import {self.file.name} {self.file.sha256}"

    def source_statements(self) -> Graph:
        graph = Graph()
        node = self.source
        graph.add((node, RDF.type, PK.Source))
        graph.add((node, DCTERMS.title, Literal(self.title)))
        graph.add((node, DCTERMS.publisher, Literal(CMS)))
        graph.add((node, DCTERMS.identifier, Literal(self.file.name)))
        graph.add((node, DCTERMS.issued, Literal(self.published)))
        graph.add((node, PK.sha256, Literal(self.file.sha256)))
        graph.add((node, PK.url, Literal(self.url, datatype=XSD.anyURI)))
        graph.add((node, PK.accessed, Literal(self.read_on)))
        graph.add((node, PK.sourceKind, PK.PrimarySource))
        return graph

    def cite(self, graph: Graph, version: URIRef, row: Row, what: str, quote: str | None = None) -> None:
        """Cite the file's ``row`` for ``version``: the section says which row and what it gave."""
        citation = BNode()
        graph.add((version, PK.citation, citation))
        graph.add((citation, PK.source, self.source))
        graph.add((citation, PK.section, Literal(f"row {row.number}: {what}")))
        if quote:
            graph.add((citation, PK.quote, Literal(quote)))


@dataclass
class ImportPlan:
    """What a file would add: statements, the codes they are about, and the codes left out."""

    provenance: FileProvenance
    added: Graph
    codes: tuple[str, ...]
    not_in_graph: tuple[str, ...] = ()
    already_imported: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def versions(self) -> list[URIRef]:
        return sorted(v for v in self.added.subjects(RDF.type, PK.RuleVersion) if isinstance(v, URIRef))


def already_imported(base: PolicyGraph, provenance: FileProvenance) -> bool:
    """Whether a source with this file's digest is in the graph (the file was imported before)."""
    source_types = [
        row["o"] for row in base.select("term-statements", term=provenance.source) if row["p"] == RDF.type
    ]
    return PK.Source in source_types or bool(
        base.select("subjects-of", predicate=PK.sha256, object=Literal(provenance.file.sha256))
    )


def new_plan(base: PolicyGraph, provenance: FileProvenance, codes_in_file: list[str]) -> ImportPlan:
    """An empty plan holding the file's source node, or a no-op plan for a file imported before."""
    plan = ImportPlan(provenance, Graph(), ())
    if already_imported(base, provenance):
        plan.already_imported = True
        return plan
    plan.added += provenance.source_statements()
    known = known_codes(base)
    plan.codes = tuple(sorted({c for c in codes_in_file if c in known}))
    plan.not_in_graph = tuple(sorted({c for c in codes_in_file if c not in known}))
    return plan


def known_codes(base: PolicyGraph) -> dict[str, URIRef]:
    """Notation -> procedure code node, for every CPT and HCPCS code in the graph."""
    from rdflib.namespace import SKOS

    found: dict[str, URIRef] = {}
    for code in base.dataset.subjects(RDF.type, PK.ProcedureCode):
        notation = base.dataset.value(code, SKOS.notation)
        if isinstance(code, URIRef) and notation is not None:
            found[str(notation)] = code
    return found


def add_rule(plan: ImportPlan, base: PolicyGraph, rule: URIRef, kind: URIRef, label: str) -> None:
    """State the rule the imported versions belong to, unless the graph already holds it."""
    if (rule, RDF.type, None) not in base.dataset:
        plan.added.add((rule, RDF.type, kind))
        plan.added.add((rule, RDFS.label, Literal(label)))


def propose(base: PolicyGraph, plan: ImportPlan, today: date) -> editing.Proposal:
    """The import as a proposed change, checked like any edit."""
    return editing.propose_addition(base, plan.added, today)


def commit(store: Store, proposal: editing.Proposal, plan: ImportPlan) -> RevisionRecord:
    """Commit a checked import as the next revision, with the reason ``import <file> <sha256>``."""
    return editing.accept(
        store, proposal, IMPORT_AUTHOR, "editor", plan.provenance.reason, proposal.base.revision_number
    )
