"""Semantic diff of two versions of the policy graph: which rules, which statements, which dates changed.

Blank nodes are compared by content, not by id: a citation ``[ pk:source src:S01 ; pk:section "..." ]``
is the same citation in both graphs whatever its blank-node label, so parsing a file twice gives no diff.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.graph import ConjunctiveGraph
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from payerkg.namespaces import (
    COND,
    CPT,
    DOC,
    GRP,
    HCPCS,
    MOD,
    PAYER,
    PK,
    POS,
    PREFIXES,
    PT,
    RULE,
    RV,
    SRC,
)


@dataclass(frozen=True)
class Blank:
    """A blank node by its content: its statements, nested blank nodes inlined, in a stable order."""

    statements: tuple[tuple[URIRef, Value], ...]


Value = URIRef | Literal | Blank
Statement = tuple[Value, URIRef, Value]


@dataclass(frozen=True)
class ChangedStatement:
    """One value of a predicate replaced by another (the subject had one value before and one after)."""

    predicate: URIRef
    before: Value
    after: Value


@dataclass(frozen=True)
class SubjectDiff:
    """What changed about one subject; ``change`` is "added", "removed" or "changed"."""

    subject: Value
    kind: str
    change: str
    description: str
    rule: URIRef | None
    changed: tuple[ChangedStatement, ...]
    added: tuple[tuple[URIRef, Value], ...]
    removed: tuple[tuple[URIRef, Value], ...]


@dataclass(frozen=True)
class GraphDiff:
    """Every subject that differs, rules with their versions first; prefixes for rendering names."""

    subjects: tuple[SubjectDiff, ...]
    prefixes: dict[str, str]

    def view(self) -> DiffView:
        """What is shown, in a stable order: terms in Turtle syntax with the prefixes they use."""
        names = _Names(self.prefixes)
        subjects = [_subject_view(subject, names) for subject in self.subjects]
        return DiffView(dict(sorted(names.used.items())), subjects)


@dataclass(frozen=True)
class ValueChange:
    predicate: str
    before: str
    after: str


@dataclass(frozen=True)
class StatementView:
    predicate: str
    value: str


@dataclass(frozen=True)
class SubjectView:
    """One subject that differs, its terms written in Turtle syntax."""

    subject: str
    kind: str
    change: str
    description: str
    rule: str | None
    changed: list[ValueChange]
    added: list[StatementView]
    removed: list[StatementView]


@dataclass(frozen=True)
class DiffView:
    """A diff as shown: the prefixes its terms use and every subject that differs."""

    prefixes: dict[str, str]
    subjects: list[SubjectView]


# Kinds by IRI pattern (ontology/README.md), so a subject whose rdf:type was removed keeps its kind.
KINDS = (
    (RULE, "rule"),
    (RV, "rule version"),
    (CPT, "code"),
    (HCPCS, "code"),
    (POS, "code"),
    (MOD, "code"),
    (GRP, "code group"),
    (PAYER, "payer"),
    (SRC, "source"),
    (DOC, "documentation requirement"),
    (COND, "condition"),
    (PT, "practitioner type"),
    (PK, "term"),
)
KIND_ORDER = [*dict.fromkeys(kind for _, kind in KINDS), "other"]
HIGHLIGHTED = (PK.effectiveStart, PK.effectiveEnd, PK.status)
SHOWN_FIRST = (RDF.type, PK.versionOf, *HIGHLIGHTED)
DESCRIBING = (RDFS.label, DCTERMS.title, SKOS.prefLabel, SKOS.notation)
BARE_DATATYPES = (XSD.date, XSD.integer, XSD.decimal, XSD.boolean)
# Local parts written as prefixed names; anything else (slashes, "#", a trailing dot) stays an <IRI>.
LOCAL_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?")

Index = dict[Value, dict[URIRef, set[Value]]]


def diff_graphs(before: Graph, after: Graph) -> GraphDiff:
    """The statements that differ between two graphs, grouped per subject.

    A Dataset counts as the union of its graphs. A predicate whose single value was replaced is a
    changed statement (an effective end moved); other differences are added or removed statements.
    """
    old, new = _statements(before), _statements(after)
    indexes = (_index(new), _index(old))  # descriptions read the newest statement of a subject
    gone: dict[Value, list[tuple[URIRef, Value]]] = defaultdict(list)
    came: dict[Value, list[tuple[URIRef, Value]]] = defaultdict(list)
    for subject, predicate, value in old - new:
        gone[subject].append((predicate, value))
    for subject, predicate, value in new - old:
        came[subject].append((predicate, value))
    names = _Names(_prefixes(after, before))
    subjects = [
        _subject_diff(subject, gone[subject], came[subject], indexes, names)
        for subject in gone.keys() | came.keys()
    ]
    return GraphDiff(tuple(sorted(subjects, key=_subject_order)), names.prefixes)


def rule_diff(before: Graph, after: Graph, rule: URIRef) -> GraphDiff:
    """``diff_graphs`` of one rule's statements only: the rule, every version of it in either graph
    (``pk:versionOf``) and the blank nodes they reach (citations, lists)."""
    versions = {
        URIRef(str(v)) for graph in (before, after) for v, _, _ in _matching(graph, None, PK.versionOf, rule)
    }
    subjects = {rule, *versions}
    return diff_graphs(_described(before, subjects), _described(after, subjects))


def _described(graph: Graph, subjects: Iterable[URIRef]) -> Graph:
    """The statements of ``subjects`` and of every blank node they reach, in a graph of their own."""
    found = Graph()
    for prefix, namespace in graph.namespaces():
        found.bind(prefix, namespace, override=False)
    todo: list[Node] = list(subjects)
    seen: set[Node] = set()
    while todo:
        subject = todo.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for triple in _matching(graph, subject, None, None):
            found.add(triple)
            if isinstance(triple[2], BNode):
                todo.append(triple[2])
    return found


def _matching(
    graph: Graph, subject: Node | None, predicate: Node | None, value: Node | None
) -> Iterator[tuple[Node, Node, Node]]:
    """The triples that match, in every graph of a Dataset (as ``_union`` reads it)."""
    if isinstance(graph, ConjunctiveGraph):
        for s, p, o, _ in graph.quads((subject, predicate, value, None)):
            yield s, p, o
    else:
        yield from graph.triples((subject, predicate, value))


def render_text(diff: GraphDiff) -> str:
    """A reviewer's view: highlights (dates, status, new and removed versions), each subject, a count."""
    if not diff.subjects:
        return "no differences"
    names = _Names(diff.prefixes)
    highlights = [line for subject in diff.subjects if (line := _highlight(subject, names))]
    lines = [*highlights, ""] if highlights else []
    for subject in diff.subjects:
        lines.append(f"{_heading(subject, names)}: {subject.change}" + _of_rule(subject, names))
        for predicate, sign, text in _ordered_lines(subject, names):
            lines.append(f"  {sign} {names.iri(predicate)} {text}")
    counts = Counter(f"{subject.kind} {subject.change}" for subject in diff.subjects)
    lines.append(
        f"{len(diff.subjects)} subject(s) differ: " + ", ".join(f"{n} {what}" for what, n in counts.items())
    )
    return "\n".join(lines)


def _union(graph: Graph) -> Iterator[tuple[Node, Node, Node]]:
    if isinstance(graph, ConjunctiveGraph):  # a Dataset answers triples() from its default graph only
        for subject, predicate, value, _ in graph.quads((None, None, None, None)):
            yield subject, predicate, value
    else:
        yield from graph


def _statements(graph: Graph) -> set[Statement]:
    """Every triple with blank-node objects replaced by their content; a blank node no named subject
    reaches (a root) becomes a subject named by its content."""
    triples = set(_union(graph))
    outgoing: dict[BNode, list[tuple[URIRef, Node]]] = defaultdict(list)
    referenced: set[Node] = set()
    for subject, predicate, value in triples:
        if isinstance(subject, BNode):
            outgoing[subject].append((URIRef(str(predicate)), value))
        referenced.add(value)
    reached: set[BNode] = set()

    def content(node: Node, path: frozenset[BNode]) -> Value:
        if isinstance(node, Literal):
            return node
        return blank(node, path) if isinstance(node, BNode) else URIRef(str(node))

    def blank(node: BNode, path: frozenset[BNode]) -> Blank:
        reached.add(node)
        if node in path:  # a cycle (only explicit _: labels can write one) is cut where it closes
            return Blank(())
        inner = path | {node}
        pairs = ((predicate, content(value, inner)) for predicate, value in outgoing[node])
        return Blank(tuple(sorted(pairs, key=_pair_key)))

    statements = {
        (content(subject, frozenset()), URIRef(str(predicate)), content(value, frozenset()))
        for subject, predicate, value in triples
        if not isinstance(subject, BNode)
    }
    roots = [node for node in outgoing if node not in referenced]
    for node in roots:
        root = blank(node, frozenset())
        statements.update((root, predicate, value) for predicate, value in root.statements)
    # Blank nodes that reach only each other (a labelled cycle) become roots too, each read from itself.
    for node in [node for node in outgoing if node not in reached]:
        root = blank(node, frozenset())
        statements.update((root, predicate, value) for predicate, value in root.statements)
    return statements


def _index(statements: Iterable[Statement]) -> Index:
    index: Index = defaultdict(lambda: defaultdict(set))
    for subject, predicate, value in statements:
        index[subject][predicate].add(value)
    return index


def _values(indexes: tuple[Index, ...], subject: Value, predicate: URIRef) -> list[Value]:
    """The values of the first graph (newest first) that has any, in a stable order."""
    for index in indexes:
        if subject in index and predicate in index[subject]:
            return sorted(index[subject][predicate], key=_key)
    return []


def _subject_diff(
    subject: Value,
    gone: list[tuple[URIRef, Value]],
    came: list[tuple[URIRef, Value]],
    indexes: tuple[Index, Index],
    names: _Names,
) -> SubjectDiff:
    new, old = indexes
    change = "added" if subject not in old else "removed" if subject not in new else "changed"
    gone_by: dict[URIRef, list[Value]] = defaultdict(list)
    came_by: dict[URIRef, list[Value]] = defaultdict(list)
    for predicate, value in gone:
        gone_by[predicate].append(value)
    for predicate, value in came:
        came_by[predicate].append(value)
    replaced = [p for p in gone_by if len(gone_by[p]) == 1 and len(came_by.get(p, ())) == 1]
    changed = [ChangedStatement(p, gone_by[p][0], came_by[p][0]) for p in replaced]
    kind = _kind(subject)
    rule = next(iter(_values(indexes, subject, PK.versionOf)), None) if kind == "rule version" else None
    return SubjectDiff(
        subject=subject,
        kind=kind,
        change=change,
        description=_description(subject, kind, indexes, names),
        rule=rule if isinstance(rule, URIRef) else None,
        changed=tuple(sorted(changed, key=lambda c: (_key(c.predicate), _key(c.before)))),
        added=tuple(sorted(((p, v) for p, v in came if p not in replaced), key=_pair_key)),
        removed=tuple(sorted(((p, v) for p, v in gone if p not in replaced), key=_pair_key)),
    )


def _kind(subject: Value) -> str:
    if isinstance(subject, URIRef):
        for namespace, kind in KINDS:
            if subject.startswith(namespace):
                return kind
    return "other"


def _description(subject: Value, kind: str, indexes: tuple[Index, ...], names: _Names) -> str:
    """A rule version by its payer and codes (what a reviewer knows it by); others by a label."""

    def first(node: Value, predicates: tuple[URIRef, ...]) -> str | None:
        for predicate in predicates:
            found = _values(indexes, node, predicate)
            if found:
                return str(found[0])
        return None

    if kind != "rule version":
        return first(subject, DESCRIBING) or ""
    payers = [
        first(payer, DESCRIBING) or names.value(payer, for_people=True)
        for payer in _values(indexes, subject, PK.payer)
    ]
    codes = sorted(
        first(code, (SKOS.notation,)) or names.value(code, for_people=True)
        for code in _values(indexes, subject, PK.appliesTo)
    )
    return ", ".join([*payers, *codes])


def _subject_order(subject: SubjectDiff) -> tuple[int, str, int, str]:
    """Rules with their versions, grouped per rule; then codes, payers, sources and the rest."""
    if subject.kind in ("rule", "rule version"):
        group = subject.rule if subject.rule is not None else subject.subject
        return (0, _key(group), subject.kind == "rule version", _key(subject.subject))
    return (KIND_ORDER.index(subject.kind), "", 0, _key(subject.subject))


def _key(value: Value) -> str:
    """A canonical text of a value (N-Triples terms, blank nodes by content): equal values, equal keys."""
    if isinstance(value, Blank):
        return "[" + " ; ".join(f"<{p}> {_key(v)}" for p, v in value.statements) + "]"
    return value.n3()


def _pair_key(pair: tuple[URIRef, Value]) -> tuple[str, str]:
    return _key(pair[0]), _key(pair[1])


def _prefixes(*graphs: Graph) -> dict[str, str]:
    """payerkg's own prefixes first, then those the graphs bind (the first binding of a name wins)."""
    prefixes = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
    for graph in graphs:
        for prefix, namespace in graph.namespaces():
            # The empty prefix is skipped: ":x" in a diff line does not say where it comes from.
            if prefix and prefix not in prefixes and str(namespace) not in prefixes.values():
                prefixes[prefix] = str(namespace)
    return prefixes


class _Names:
    """Writes terms with prefixed names and remembers which prefixes it used."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        self.prefixes = prefixes
        self.used: dict[str, str] = {}
        self._longest_first = sorted(prefixes.items(), key=lambda item: -len(item[1]))

    def iri(self, iri: str) -> str:
        for prefix, namespace in self._longest_first:
            if not iri.startswith(namespace):
                continue
            local = iri[len(namespace) :]
            if not local or LOCAL_NAME.fullmatch(local):
                self.used[prefix] = namespace
                return f"{prefix}:{local}"
        return f"<{iri}>"

    def value(self, value: Value, for_people: bool = False) -> str:
        """Turtle syntax; for people, dates and numbers bare and RDF lists as ( ... )."""
        if isinstance(value, Blank):
            items = _list_items(value)
            if items is not None:
                return "( " + " ".join(self.value(item, for_people) for item in items) + " )"
            inner = " ; ".join(f"{self.iri(p)} {self.value(v, for_people)}" for p, v in value.statements)
            return f"[ {inner} ]" if inner else "[]"
        if isinstance(value, URIRef):
            return self.iri(value)
        if for_people and value.datatype in BARE_DATATYPES:
            return str(value)
        quoted = json.dumps(str(value), ensure_ascii=False)  # JSON string escapes are valid Turtle
        if value.language:
            return f"{quoted}@{value.language}"
        return f"{quoted}^^{self.iri(value.datatype)}" if value.datatype else quoted


def _list_items(blank: Blank) -> list[Value] | None:
    items: list[Value] = []
    node: Value = blank
    while isinstance(node, Blank):
        pairs = dict(node.statements)
        if len(node.statements) != 2 or pairs.keys() != {RDF.first, RDF.rest}:
            return None
        items.append(pairs[RDF.first])
        node = pairs[RDF.rest]
    return items if node == RDF.nil else None


def _subject_view(subject: SubjectDiff, names: _Names) -> SubjectView:
    return SubjectView(
        subject=names.value(subject.subject),
        kind=subject.kind,
        change=subject.change,
        description=subject.description,
        rule=names.iri(subject.rule) if subject.rule is not None else None,
        changed=[
            ValueChange(names.iri(c.predicate), names.value(c.before), names.value(c.after))
            for c in subject.changed
        ],
        added=[StatementView(names.iri(p), names.value(v)) for p, v in subject.added],
        removed=[StatementView(names.iri(p), names.value(v)) for p, v in subject.removed],
    )


def _heading(subject: SubjectDiff, names: _Names) -> str:
    described = f" ({subject.description})" if subject.description else ""
    return f"{subject.kind} {names.value(subject.subject, for_people=True)}{described}"


def _of_rule(subject: SubjectDiff, names: _Names) -> str:
    return f", version of {names.iri(subject.rule)}" if subject.rule is not None else ""


def _highlight(subject: SubjectDiff, names: _Names) -> str:
    """New and removed rule versions; effective-date and status changes of any subject."""
    if subject.kind == "rule version" and subject.change != "changed":
        new_or_removed = "new" if subject.change == "added" else "removed"
        return f"{new_or_removed} {_heading(subject, names)}{_of_rule(subject, names)}"
    words = {"~": "", "+": "added ", "-": "removed "}
    found = [
        f"{words[sign]}{names.iri(predicate)} {text}"
        for predicate, sign, text in _ordered_lines(subject, names)
        if predicate in HIGHLIGHTED
    ]
    return f"{_heading(subject, names)}: " + "; ".join(found) if found else ""


def _ordered_lines(subject: SubjectDiff, names: _Names) -> list[tuple[URIRef, str, str]]:
    """(predicate, sign, text) per statement: type and highlighted predicates first, then by
    prefixed name; within one predicate a replacement, then removals, then additions."""

    def show(value: Value) -> str:
        return names.value(value, for_people=True)

    lines = [(c.predicate, "~", f"{show(c.before)} → {show(c.after)}") for c in subject.changed]
    lines += [(p, "-", show(v)) for p, v in subject.removed]
    lines += [(p, "+", show(v)) for p, v in subject.added]

    def order(line: tuple[URIRef, str, str]) -> tuple[int, str, int]:
        predicate, sign, _ = line
        rank = SHOWN_FIRST.index(predicate) if predicate in SHOWN_FIRST else len(SHOWN_FIRST)
        return rank, names.iri(predicate), "~-+".index(sign)

    return sorted(lines, key=order)  # stable: values keep their sorted order within a sign
