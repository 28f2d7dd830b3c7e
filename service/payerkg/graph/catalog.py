"""Read-only look-ups of the graph: payers, codes, rule versions and what is loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from rdflib import Graph, Literal
from rdflib.term import Identifier, Node

from payerkg.errors import InvalidParameter, UnknownCode, UnknownRule
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.queries import Row
from payerkg.graph.rules import CODE_PATTERN, rule_model
from payerkg.namespaces import PK, PREFIXES, RULE, RV


def _text(node: Node | date | None) -> str | None:
    return None if node is None else str(node)


@dataclass(frozen=True)
class GraphSummary:
    """What is loaded: the revision, counts of statements and of things by kind, the files."""

    graph_revision: str
    triples: int
    files: list[str]
    counts: dict[str, int]


@dataclass(frozen=True)
class PayerInfo:
    id: str
    iri: str
    label: str
    kind: str | None
    sources_current_to: str | None
    electronic_payer_ids: tuple[str, ...] = ()
    """Electronic (clearinghouse) payer IDs a claim may name this payer by, as the graph states them."""
    naic_company_codes: tuple[str, ...] = ()
    """NAIC company codes of the insurer this payer is, as the graph states them."""


@dataclass(frozen=True)
class Recognition:
    """What one payer's recognition rule says of a code on a date."""

    payer: str
    recognized: bool
    status_indicator: str | None
    rule: str


@dataclass(frozen=True)
class CodeInfo:
    """A code's validity on a date and what each payer with a recognition rule says of it."""

    code: str
    iri: str
    label: str
    system: str
    category: str | None
    date: str
    valid: bool
    valid_from: str | None
    valid_through: str | None
    recognition: list[Recognition]


@dataclass
class RuleVersionInfo:
    """A rule version as listed: its dates, status, evidence, what it revises and why it changed."""

    id: str
    iri: str
    rule: str
    label: str
    payer: str
    status: str
    effective_start: str
    effective_end: str | None
    known_from: str | None
    evidence_level: str
    revises: list[str] = field(default_factory=list)
    """Versions it ends as a whole (prov:wasRevisionOf)."""
    supersedes: list[str] = field(default_factory=list)
    """Versions it ends only for its own codes and dates (pk:supersedes)."""
    change_notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RuleHistory:
    """A rule and every version of it, oldest known first."""

    rule: str
    versions: list[RuleVersionInfo]


def summary(policy: PolicyGraph) -> GraphSummary:
    """Counts of what is loaded, the files and the graph revision."""
    rows = policy.select("graph-summary")
    counts = {str(row["kind"]).split("#")[-1]: int(row["count"].toPython()) for row in rows}
    return GraphSummary(policy.revision, len(policy.dataset), sorted(policy.files.values()), counts)


def payers(policy: PolicyGraph) -> list[PayerInfo]:
    identifiers = payer_identifiers(policy)
    return [
        PayerInfo(
            id=str(row["id"]),
            iri=str(row["payer"]),
            label=str(row["label"]),
            kind=_text(row.get("kind")),
            sources_current_to=_text(row.get("sourcesCurrentTo")),
            electronic_payer_ids=_naming(identifiers.electronic_ids, str(row["id"])),
            naic_company_codes=_naming(identifiers.naic_codes, str(row["id"])),
        )
        for row in policy.select("payers")
    ]


def _naming(identifiers: dict[str, str], payer_id: str) -> tuple[str, ...]:
    return tuple(sorted(value for value, named in identifiers.items() if named == payer_id))


def payer(policy: PolicyGraph, payer_id: str) -> PayerInfo:
    iri = rule_model(policy).payer(payer_id).iri
    return next(p for p in payers(policy) if p.iri == str(iri))


class PayerIdentifiers:
    """The identifiers a claim may name a payer by, as the graph states them (NAIC company codes,
    electronic payer IDs), each to the payer's short id; built once per revision (``policy.view``).

    >>> from payerkg.graph.dataset import load_dataset
    >>> load_dataset().view(PayerIdentifiers).electronic("62308")
    'cigna-commercial'
    """

    content_only = True  # shared by graphs of one identity (graph.dataset.SharedViews)

    def __init__(self, policy: PolicyGraph) -> None:
        by_scheme: dict[str, dict[str, str]] = {str(PK.naicCompanyCode): {}, str(PK.electronicPayerId): {}}
        for row in policy.select("payer-identifiers"):
            by_scheme[str(row["scheme"])][str(row["value"])] = str(row["id"])
        self.naic_codes = by_scheme[str(PK.naicCompanyCode)]
        self.electronic_ids = by_scheme[str(PK.electronicPayerId)]

    def naic(self, code: str) -> str | None:
        """The payer whose insurance company has this NAIC company code, if the graph states one."""
        return self.naic_codes.get(code)

    def electronic(self, payer_id: str) -> str | None:
        """The payer this electronic payer ID names, if the graph states one."""
        return self.electronic_ids.get(payer_id)


def payer_identifiers(policy: PolicyGraph) -> PayerIdentifiers:
    return policy.view(PayerIdentifiers)


def state_plans(policy: PolicyGraph) -> dict[str, str]:
    """Each jurisdiction's postal code and the id of its fully insured plan.

    >>> from payerkg.graph.dataset import load_dataset
    >>> state_plans(load_dataset())["TX"]
    'tx-fully-insured'
    """
    return {str(row["state"]): str(row["plan"]) for row in policy.select("state-plans")}


def state_plan(policy: PolicyGraph, state: str) -> str:
    """The id of the fully insured plan of ``state`` (a postal code such as TX, any case)."""
    plan = state_plans(policy).get(state.upper())
    if plan is None:
        raise InvalidParameter(
            "state must be the two-letter postal code of a state or DC whose law the graph holds "
            "a layer for, such as TX",
            "state",
        )
    return plan


def code(policy: PolicyGraph, notation: str, day: date) -> CodeInfo:
    """A code's validity on a date and what each payer with a recognition rule says of it."""
    if not CODE_PATTERN.match(notation):
        raise InvalidParameter("code must be a CPT or HCPCS code such as 99213 or G2012", "code")
    found = rule_model(policy).code(notation)
    if found is None:
        raise UnknownCode("the graph holds no code with this notation", "code")
    recognition = [
        Recognition(
            payer=str(r["payerId"]),
            recognized=bool(r["recognized"].toPython()),
            status_indicator=_text(r.get("indicator")),
            rule=str(r["version"]),
        )
        for r in policy.select("recognition-for-code", code=found.iri, date=Literal(day))
    ]
    return CodeInfo(
        code=notation,
        iri=str(found.iri),
        label=found.label,
        system=str(found.system).split("#")[-1],
        category=_text(found.category),
        date=day.isoformat(),
        valid=found.valid_on(day),
        valid_from=_text(found.valid_from),
        valid_through=_text(found.valid_through),
        recognition=recognition,
    )


def _check_id(rule_id: str) -> None:
    if not rule_id.replace("-", "").replace("_", "").isalnum():
        raise InvalidParameter("rule id must be letters, digits and hyphens", "id")


def rule_description(policy: PolicyGraph, rule_id: str) -> Graph:
    """The statements about a rule version (or a rule and all its versions), citations included,
    read by query: a whole-graph copy of a new revision would cost more than the page."""
    _check_id(rule_id)
    rows = policy.select("term-statements-with-citations", term=RV[rule_id])
    if not rows:
        rows = policy.select("term-statements-with-citations", term=RULE[rule_id])
        of_rule = policy.select("subjects-of", predicate=PK.versionOf, object=RULE[rule_id]) if rows else []
        if of_rule:
            versions = [row["subject"] for row in of_rule]
            rows += policy.select_each("term-statements-with-citations", "term", versions)
    if not rows:
        raise UnknownRule("no rule or rule version with this id is in the graph", "id")
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    for row in rows:
        graph.add((row["s"], row["p"], row["o"]))
    return graph


STATUSES = {"active": PK.Active, "draft": PK.Draft, "retired": PK.Retired}


def rule_versions(
    policy: PolicyGraph, payer: str | None = None, code: str | None = None, status: str | None = None
) -> list[RuleVersionInfo]:
    """Rule versions, optionally only a payer's (its own, not inherited), a code's, or a status's."""
    bindings: dict[str, Identifier] = {}
    if payer is not None:
        rule_model(policy).payer(payer)  # an unknown payer is a 404, not an empty list
        bindings["payerId"] = Literal(payer)
    if status is not None:
        bindings["status"] = STATUSES[status]
    rows = policy.select("rule-versions", **bindings)
    if code is not None:
        if not CODE_PATTERN.fullmatch(code):
            raise InvalidParameter("code must be a CPT or HCPCS code", "code")
        for_code = {r["version"] for r in policy.select("rule-versions-for-code", notation=Literal(code))}
        rows = [r for r in rows if r["version"] in for_code]
    return _versions(rows)


def rule_history(policy: PolicyGraph, rule_id: str) -> RuleHistory:
    """A rule and every version of it, oldest known first, with what each revises (as a whole) or
    supersedes (for its own codes and dates)."""
    _check_id(rule_id)
    rows = policy.select("rule-versions", rule=RULE[rule_id])
    if not rows:
        raise UnknownRule("no rule with this id is in the graph", "id")
    versions = sorted(_versions(rows), key=lambda v: (v.known_from or "", v.effective_start, v.id))
    return RuleHistory(str(RULE[rule_id]), versions)


def _versions(rows: list[Row]) -> list[RuleVersionInfo]:
    found: dict[str, RuleVersionInfo] = {}
    for row in rows:
        version = found.setdefault(
            str(row["version"]),
            RuleVersionInfo(
                id=str(row["version"]).rsplit("/", 1)[-1],
                iri=str(row["version"]),
                rule=str(row["rule"]),
                label=str(row["label"]),
                payer=str(row["payerId"]),
                status=str(row["status"]).rsplit("#", 1)[-1].lower(),
                effective_start=str(row["start"]),
                effective_end=_text(row.get("end")),
                known_from=_text(row.get("known")),
                evidence_level=str(row["evidence"]).rsplit("#", 1)[-1],
            ),
        )
        for column, values in (
            ("revises", version.revises),
            ("supersedes", version.supersedes),
            ("changeNote", version.change_notes),
        ):
            if row.get(column) is not None and str(row[column]) not in values:
                values.append(str(row[column]))
    return list(found.values())
