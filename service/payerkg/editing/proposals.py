"""Proposed rule changes: parsed, checked against the graph they would join, compared by what they
would change, and committed as a new revision only when every check passes.

A change adds new statements (new rules, new versions of existing rules, new sources) or
withdraws an earlier edit (rollback). Existing nodes are never edited: a revised rule gets a new
version node that names the one it revises with ``prov:wasRevisionOf``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, SKOS
from rdflib.plugins.parsers.notation3 import BadSyntax

from payerkg.coverage.conflicts import GraphConflict, graph_conflicts
from payerkg.editing import revisions
from payerkg.editing.revisions import EDIT_GRAPH, Change, RevisionRecord
from payerkg.errors import EditConflict, EditRefused, ParseError, StaleRevision, TooLarge
from payerkg.graph.dataset import PolicyGraph, holds_nul
from payerkg.graph.queries import SPARQL_PARSER
from payerkg.namespaces import PK, RULE, RV, SRC
from payerkg.stores import Store, new_dataset
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.validation.lint import lint

EDITABLE_NAMESPACES = (str(RULE), str(RV), str(SRC))
MAX_EDIT_TRIPLES = 2_000


@dataclass
class Proposal:
    """A change and what it would do to the graph it is based on."""

    base: PolicyGraph
    proposed: PolicyGraph
    added: Graph | None
    withdraws: int | None
    rules: tuple[URIRef, ...]
    codes: frozenset[URIRef]
    problems: list[str] = field(default_factory=list)
    conflicts: list[GraphConflict] = field(default_factory=list)

    def refuse_if_unsafe(self) -> None:
        """Raise if the change breaks a policy shape or a reference, or brings a new conflict."""
        if self.problems:
            raise EditRefused("the change fails the policy checks; nothing was changed", self.problems)
        if self.conflicts:
            raise EditConflict(
                "the change disagrees with an active rule version; mark it as superseding that "
                "version or change it",
                [conflict_text(c) for c in self.conflicts],
            )


def parse_rule_turtle(text: str) -> Graph:
    """The statements of a submitted rule document (Turtle); never fetches anything."""
    if "\x00" in text:
        raise ParseError("the rule document contains a NUL character", "rule")
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle")
    except BadSyntax as error:
        line = text[: error._i].count("\n") + 1
        raise ParseError(f"Turtle syntax error at line {line}", "rule") from None
    except Exception:  # rdflib raises assorted types on malformed input
        raise ParseError("Turtle syntax error", "rule") from None
    if len(graph) > MAX_EDIT_TRIPLES:
        raise TooLarge(f"a change may hold at most {MAX_EDIT_TRIPLES} statements", "rule")
    if holds_nul(graph):
        raise ParseError("the rule document contains a NUL character (escaped as \\u0000)", "rule")
    return graph


def propose_addition(base: PolicyGraph, submitted: Graph, today: date, supersedes: bool = False) -> Proposal:
    """What adding ``submitted`` would do. Versions without ``pk:knownFrom`` become known today;
    with ``supersedes``, each new version revises the active versions it would disagree with."""
    added = _normalized(base, submitted, today)
    versions = _versions(added)
    rules = tuple(
        sorted({r for v in versions for r in added.objects(v, PK.versionOf) if isinstance(r, URIRef)})
    )
    codes = _codes(base, added, versions)
    proposal = _evaluate(base, added, None, rules, codes)
    if supersedes and proposal.conflicts:
        for conflict in proposal.conflicts:
            for side in (conflict.first, conflict.second):
                older = URIRef(side.rule)
                if older not in versions:
                    for version in versions:
                        added.add((version, PROV.wasRevisionOf, older))
        proposal = _evaluate(base, added, None, rules, codes)
    return proposal


def propose_rollback(store: Store, base: PolicyGraph, number: int) -> Proposal:
    """What withdrawing the statements revision ``number`` added would do."""
    record = next((r for r in revisions.log(store) if r.number == number), None)
    if record is None or record.kind != "add" or not record.added:
        raise EditRefused(f"revision {number} added no statements; only edits can be rolled back")
    if any(r.withdraws == number for r in revisions.log(store)):
        raise EditRefused(f"revision {number} was already rolled back")
    withdrawn = Graph().parse(data=record.added, format="nt")
    versions = _versions(withdrawn)
    rules = tuple(URIRef(r) for r in record.rules)
    return _evaluate(base, None, number, rules, _codes(base, withdrawn, versions))


def accept(
    store: Store, proposal: Proposal, author: str, role: str, reason: str, base_revision: int
) -> RevisionRecord:
    """Commit a checked proposal as the next revision; stale bases and unsafe changes are refused."""
    if base_revision != proposal.base.revision_number:
        raise StaleRevision(
            f"the change was based on revision {base_revision}, the newest is {proposal.base.revision_number}"
        )
    proposal.refuse_if_unsafe()
    kind = "rollback" if proposal.withdraws is not None else "add"
    change = Change(kind, author, role, reason, proposal.rules, proposal.added, proposal.withdraws)
    return revisions.commit(store, change, base_revision)


def _normalized(base: PolicyGraph, submitted: Graph, today: date) -> Graph:
    """The submitted statements, refused unless they only describe new rules, versions, sources
    and their citations; versions get a known-from and a reviewed-on date if they lack one."""
    if len(submitted) == 0:
        raise EditRefused("the change holds no statements")
    problems = []
    existing = base.dataset
    for subject in sorted(set(submitted.subjects()), key=str):
        if isinstance(subject, BNode):
            continue
        if not str(subject).startswith(EDITABLE_NAMESPACES):
            problems.append(f"{subject}: only rules, rule versions and sources can be added")
        elif (subject, None, None) in existing:
            kind = "versions never change; add a new version that revises it (prov:wasRevisionOf)"
            problems.append(f"{subject}: already in the graph; {kind}")
    versions = _versions(submitted)
    if not versions:
        problems.append("the change adds no rule version (a pk:RuleVersion)")
    if problems:
        raise EditRefused("the change cannot be applied; nothing was changed", problems)
    added = Graph()
    added += submitted
    for version in versions:
        if added.value(version, PK.knownFrom) is None:
            added.add((version, PK.knownFrom, Literal(today)))
        # The editor who submits a version has checked it against its sources today.
        if added.value(version, PK.reviewedOn) is None:
            added.add((version, PK.reviewedOn, Literal(today)))
    return added


def _versions(graph: Graph) -> list[URIRef]:
    return sorted(v for v in graph.subjects(RDF.type, PK.RuleVersion) if isinstance(v, URIRef))


def _codes(base: PolicyGraph, added: Graph, versions: Iterable[URIRef]) -> frozenset[URIRef]:
    """The procedure codes the versions apply to, code groups expanded."""
    codes: set[URIRef] = set()
    for version in versions:
        for target in added.objects(version, PK.appliesTo):
            members = [m for m in base.dataset.objects(target, SKOS.member) if isinstance(m, URIRef)]
            codes.update(members or ([target] if isinstance(target, URIRef) else []))
    return frozenset(codes)


def _evaluate(
    base: PolicyGraph,
    added: Graph | None,
    withdraws: int | None,
    rules: tuple[URIRef, ...],
    codes: frozenset[URIRef],
) -> Proposal:
    """Build the graph as it would be and compare its lint problems and conflicts with the base's."""
    # A scratch store; Oxigraph answers the graph-wide queries of the checks fastest.
    store = OxigraphStore(None)
    store.load(base.dataset)
    if added is not None:
        store.load(_as_edit_dataset(added))
    if withdraws is not None:
        store.update(f"DROP SILENT GRAPH {EDIT_GRAPH[str(withdraws)].n3()}")
    proposed = PolicyGraph(store, revision="proposed", revision_number=base.revision_number + 1)
    # Lint parses SPARQL (its violation queries, pyshacl's sh:sparql) and rdflib's parser is not
    # thread-safe: two concurrent edits failed inside pyparsing.
    with SPARQL_PARSER:
        if added is not None:  # new nodes only: what was already there passed when it was added
            focus = {s for s in added.subjects() if isinstance(s, URIRef)}
            problems = sorted(str(p) for p in lint(proposed, focus))
        else:  # a withdrawal can break what refers to the withdrawn nodes: compare whole graphs
            before = {str(p) for p in lint(base)}
            problems = sorted(str(p) for p in lint(proposed) if str(p) not in before)
    known = {_conflict_key(c) for c in graph_conflicts(base, codes_of=codes)}
    conflicts = [c for c in graph_conflicts(proposed, codes_of=codes) if _conflict_key(c) not in known]
    return Proposal(base, proposed, added, withdraws, rules, codes, problems, conflicts)


def _as_edit_dataset(added: Graph) -> Dataset:
    dataset = new_dataset()
    edit = dataset.graph(EDIT_GRAPH["proposed"])
    edit += added
    return dataset


def _conflict_key(conflict: GraphConflict) -> tuple[str, str, str, str]:
    return (conflict.payer, conflict.topic, conflict.first.rule, conflict.second.rule)


def conflict_text(conflict: GraphConflict) -> str:
    first, second = conflict.first, conflict.second
    return (
        f"{conflict.payer}, {conflict.topic}: {first.rule} says {', '.join(first.says)} "
        f"({first.evidence_level}); {second.rule} says {', '.join(second.says)} ({second.evidence_level}); "
        f"overlap from {conflict.overlap_start}"
    )
