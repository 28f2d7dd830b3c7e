"""Derive SHACL shapes from rule data, so policy editors never write SHACL by hand.

Every current rule version becomes one shape per thing it requires. Each shape targets claim
lines and reads "if this version applies to the line, the line meets the requirement", written in
SHACL Core as ``sh:or ( [ sh:not APPLIES ] REQUIREMENT )``. APPLIES tests the line's code, the
encounter's payer and date of service, and the version's scope (modality, setting, patient
status, purpose, rural flag); exceptions that override a rule are excluded from its APPLIES.
Each shape carries ``pk:enforces`` (the rule version) and ``pk:findingPath`` (the field).
Two more list the payer ids and code notations the graph knows: no rule applies to an unknown
payer or code, so without them such an encounter would conform unchecked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import PROV, RDF, SH, SKOS
from rdflib.term import Identifier, Node

from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.facets import FACETS, SCOPED, Facet
from payerkg.graph.rules import RuleVersion, rule_model
from payerkg.namespaces import PK

SHAPES = "https://w3id.org/payerkg/shapes/rule#"
# SHACL terms by name; "in", "not", "and", "or" are Python keywords, so SH.<name> cannot spell them.
SHACL = Namespace(str(SH._NS))
ENCOUNTER = [("inverse", PK.line)]  # from a claim line up to its encounter

DOCUMENTATION_PATH = [*ENCOUNTER, ("", PK.documentationPresent)]
DATE_PATH = [*ENCOUNTER, ("", PK.dateOfService)]
PAYER_PATH = [*ENCOUNTER, ("", PK.encounterPayer)]
SIBLING_CODES_PATH = [*ENCOUNTER, ("", PK.line), ("", PK.code)]

# The JSON field a finding on each property is about.
FIELDS: dict[URIRef, str] = {
    PK.encounterModality: "modality",
    PK.setting: "patient_location.setting",
    PK.rural: "patient_location.rural",
    PK.acoAssigned: "patient.aco_assigned",
    PK.patientStatus: "patient.status",
    PK.encounterPurpose: "purpose",
    PK.practitionerType: "practitioner.type",
    PK.documentationPresent: "documentation",
    PK.dateOfService: "date_of_service",
    PK.encounterPayer: "payer",
    PK.state: "patient_location.state",
    PK.code: "code",
    PK.modifier: "modifiers",
    PK.posCode: "place_of_service",
    PK.minutes: "minutes",
    PK.dataDays: "data_days",
    PK.units: "units",
}
BILLED_CODE = "{$code}"
"""Stands in a message for the code billed on the line at fault: a finding names that code (filled
in by payerkg.validation.validate), not every code of the rule."""
LINE_FIELDS = {PK.code, PK.modifier, PK.posCode, PK.minutes, PK.dataDays, PK.units}


class _Builder:
    """Writes shapes into one graph, with small helpers for SHACL constructs."""

    def __init__(self, policy: PolicyGraph) -> None:
        self.policy = policy
        self.graph = Graph()
        self.graph.bind("sh", SH)
        self.graph.bind("pk", PK)
        # Lists of terms and paths are written once and shared by every shape that uses them
        # (the versions of one rule differ mostly in dates): fewer statements, each read once.
        self._lists: dict[tuple[Node, ...], BNode] = {}
        self._paths: dict[tuple[tuple[str, URIRef], ...], Node] = {}
        self._nodes: dict[tuple[object, ...], BNode] = {}

    def add(self, subject: Node, predicate: URIRef, obj: Node) -> None:
        self.graph.add((subject, predicate, obj))

    def rdf_list(self, items: Sequence[Node]) -> BNode:
        key = tuple(items)
        if not key:
            return BNode()  # as rdflib's Collection writes an empty list: a node with no statements
        shared = not any(isinstance(item, BNode) for item in key)  # shapes stay each their own
        if shared and key in self._lists:
            return self._lists[key]
        head = node = BNode()
        for index, item in enumerate(key):
            self.add(node, RDF.first, item)
            following = BNode() if index + 1 < len(key) else RDF.nil
            self.add(node, RDF.rest, following)
            node = following  # type: ignore[assignment]
        if shared:
            self._lists[key] = head
        return head

    def path(self, steps: list[tuple[str, URIRef]]) -> Node:
        key = tuple(steps)
        if key not in self._paths:
            nodes: list[Node] = []
            for kind, prop in steps:
                if kind == "inverse":
                    inverse = BNode()
                    self.add(inverse, SH.inversePath, prop)
                    nodes.append(inverse)
                else:
                    nodes.append(prop)
            self._paths[key] = nodes[0] if len(nodes) == 1 else self.rdf_list(nodes)
        return self._paths[key]

    def property(self, steps: list[tuple[str, URIRef]], **constraints: Node | Sequence[Node]) -> BNode:
        shape = BNode()
        self.add(shape, SH.path, self.path(steps))
        for name, value in constraints.items():
            predicate = SHACL[name]
            if isinstance(value, list | tuple):
                self.add(shape, predicate, self.rdf_list(list(value)))
            else:
                self.add(shape, predicate, value)  # type: ignore[arg-type]
        return shape

    def shared_node(self, steps: list[tuple[str, URIRef]], **constraints: Node | Sequence[Node]) -> BNode:
        """``node(property(steps, **constraints))``, written once for every shape that tests the
        same (APPLIES parts: one payer's ids, one rule's codes, one year's dates)."""
        key = (
            tuple(steps),
            tuple((name, tuple(v) if isinstance(v, list | tuple) else v) for name, v in constraints.items()),
        )
        if key not in self._nodes:
            self._nodes[key] = self.node(self.property(steps, **constraints))
        return self._nodes[key]

    def node(self, *properties: BNode) -> BNode:
        shape = BNode()
        for prop in properties:
            self.add(shape, SH.property, prop)
        return shape

    def negation(self, shape: Node) -> BNode:
        negated = BNode()
        self.add(negated, SHACL["not"], shape)
        return negated

    def conjunction(self, shapes: Sequence[Node]) -> BNode:
        node = BNode()
        self.add(node, SHACL["and"], self.rdf_list(list(shapes)))
        return node

    def implication(
        self,
        iri: URIRef,
        applies: Node,
        requirement: Node,
        *,
        message: str,
        enforces: Node,
        field: URIRef,
        severity: URIRef = SH.Violation,
    ) -> None:
        self.add(iri, RDF.type, SH.NodeShape)
        self.add(iri, SH.targetSubjectsOf, PK.code)
        self.add(iri, SHACL["or"], self.rdf_list([self.negation(applies), requirement]))
        self.add(iri, SH.message, Literal(message))
        self.add(iri, SH.severity, severity)
        self.add(iri, PK.enforces, enforces)
        self.add(iri, PK.findingPath, field)


def compile_rule_shapes(policy: PolicyGraph, as_of: date | None = None) -> Graph:
    """The derived shapes of every rule version current on ``as_of`` (default today), and code validity."""
    builder = _Builder(policy)
    versions = _current_versions(policy, as_of or date.today())
    _read_ahead(policy, versions)
    overriders: dict[Node, list[RuleVersion]] = {}
    for version in versions:
        for overridden in dict.fromkeys(version.values(PK.overrides)):
            overriders.setdefault(overridden, []).append(version)
    for version in versions:
        overriding = overriders.get(version.rule, []) if version.rule is not None else []
        _compile_version(builder, version, overriding, floor=False)
        # A payer that inherits this one's rules only as a coverage floor (Medicare Advantage):
        # what the baseline refuses or requires is a warning there (the plan's contract decides),
        # and the baseline's claim mechanics do not reach it at all.
        floor_payers = _payer_ids(policy, version.value(PK.payer), floor=True)
        if floor_payers and not rule_model(policy).claim_mechanics(version.rule):
            _compile_version(builder, version, overriding, floor=True)
    _compile_code_validity(builder, policy)
    _compile_known_terms(builder, policy)
    return builder.graph


def _current_versions(policy: PolicyGraph, as_of: date) -> list[RuleVersion]:
    model = rule_model(policy)
    rows = policy.select("current-rule-versions", asOf=Literal(as_of))
    if any(row["version"] not in model.terms.cache for row in rows):
        # A store read per (payer, code) has not read them all: one query, not one per version.
        model.terms.preload(policy.select("rule-statements"))
    versions = [
        model.terms.version(row["version"])
        for row in rows
        # Not when a revision of it was known by then.
        if not any(day <= as_of for day in model.revised_on.get(row["version"], ()))
    ]
    return sorted(versions, key=lambda v: str(v.iri))


NOT_NAMED_IN_SHAPES = frozenset((RDF.type, PK.versionOf, PROV.wasRevisionOf, PK.overrides, PK.supersedes))
"""What a version refers to that the read-ahead leaves out: its classes, its rule and other
versions, which its shapes never name (rules are read ahead only where a coverage floor needs
them). The few other terms read ahead without being named (its status, evidence level,
determination) cost a row or two each."""


def _read_ahead(policy: PolicyGraph, versions: Sequence[RuleVersion]) -> None:
    """Read what the shapes of ``versions`` name (codes, code groups and their members, payers,
    vocabulary terms) and the payers' ids, in a few queries rather than one per term and payer:
    each is a round trip to a remote store (350 of them on the shipped graph)."""
    model = rule_model(policy)
    terms = model.terms
    named = [
        node
        for version in versions
        for prop, values in version.statements.items()
        if prop not in NOT_NAMED_IN_SHAPES
        for node in values
        if isinstance(node, URIRef)
    ]
    # A baseline's rules reach the payers that take it as a floor unless they are claim mechanics.
    floored = {baseline for baselines in model.floors.values() for baseline in baselines}
    named += [payer for payer in model.floors if isinstance(payer, URIRef)]
    named += [v.rule for v in versions if v.value(PK.payer) in floored and isinstance(v.rule, URIRef)]
    terms.load(named)
    terms.load(
        [m for node in named for m in terms.statements(node).get(SKOS.member, []) if isinstance(m, URIRef)]
    )
    policy.view(_PayerIds).load(version.value(PK.payer) for version in versions)


def _path(facet: Facet) -> list[tuple[str, URIRef]]:
    """The path from a claim line to where its encounter states the facet."""
    return [*ENCOUNTER, *(("", step) for step in facet.encounter_path)]


def _notations(policy: PolicyGraph, nodes: Iterable[Node]) -> list[Literal]:
    """The sorted notations of codes and code groups (a group's members), worked out once per
    revision for each combination (a rule's versions repeat theirs)."""
    key = tuple(nodes)
    known = policy.view(_Notations).by_terms
    if key not in known:
        known[key] = _read_notations(policy, key)
    return known[key]


class _Notations:
    """Per tuple of codes and code groups: their notations, worked out once per revision."""

    def __init__(self, policy: PolicyGraph) -> None:
        self.by_terms: dict[tuple[Node, ...], list[Literal]] = {}


def _read_notations(policy: PolicyGraph, nodes: Iterable[Node]) -> list[Literal]:
    found: set[str] = set()
    for node in nodes:
        assert isinstance(node, URIRef), "rules apply to codes and code groups, named by IRIs"
        for member in rule_model(policy).terms.statements(node).get(SKOS.member) or [node]:
            assert isinstance(member, URIRef)
            notation = rule_model(policy).terms.statements(member).get(SKOS.notation)
            if notation:
                found.add(str(notation[0]))
    return [Literal(n) for n in sorted(found)]


def _payer_ids(policy: PolicyGraph, payer: Node | None, floor: bool) -> list[Literal]:
    """The payer and every payer that inherits its rules in full, or (``floor``) the payers that
    inherit them only as a coverage floor."""
    assert isinstance(payer, URIRef), "the policy shapes require one payer per rule version"
    found = policy.view(_PayerIds)
    found.load([payer])
    return found.by_payer[(payer, floor)]


class _PayerIds:
    """Per (payer, floor): the payer ids a derived shape accepts, worked out once per revision."""

    def __init__(self, policy: PolicyGraph) -> None:
        self.policy = policy
        self.by_payer: dict[tuple[URIRef, bool], list[Literal]] = {}

    def load(self, payers: Iterable[Node | None]) -> None:
        """Work out the ids of the payers not worked out yet, in one query."""
        missing = [
            p for p in dict.fromkeys(payers) if isinstance(p, URIRef) and (p, False) not in self.by_payer
        ]
        if not missing:
            return
        every_id: dict[Node, set[str]] = {payer: set() for payer in missing}
        for row in self.policy.select_each("payers-inheriting", "basePayer", missing):
            every_id[row["basePayer"]].add(str(row["id"]))
        model = rule_model(self.policy)
        for payer in missing:
            floor_ids = {
                str(notation)
                for inheritor, baselines in model.floors.items()
                if payer in baselines
                for notation in model.terms.statements(inheritor).get(SKOS.notation, [])
            }
            self.by_payer[(payer, True)] = sorted(Literal(i) for i in floor_ids)
            self.by_payer[(payer, False)] = sorted(Literal(i) for i in every_id[payer] - floor_ids)


def _applies(builder: _Builder, version: RuleVersion, overriding: list[RuleVersion], floor: bool) -> BNode:
    policy = builder.policy
    parts: list[Node] = [
        builder.shared_node(
            [("", PK.code)],
            minCount=Literal(1),
            **{"in": _notations(policy, version.values(PK.appliesTo))},
        ),
        builder.shared_node(
            PAYER_PATH,
            minCount=Literal(1),
            **{"in": _payer_ids(policy, version.value(PK.payer), floor)},
        ),
    ]
    dates: dict[str, Node] = {"minCount": Literal(1), "minInclusive": version.value(PK.effectiveStart)}  # type: ignore[dict-item]
    end = version.value(PK.effectiveEnd)
    if end is not None:
        dates["maxInclusive"] = end
    parts.append(builder.shared_node(DATE_PATH, **dates))
    for facet in SCOPED:
        scope = version.values(facet.scope)  # type: ignore[arg-type]  # SCOPED facets have one
        if not scope:
            continue
        # A yes/no scope holds only when the encounter states the value.
        matches = (
            {"in": _notations(policy, scope)} if facet.vocabulary is not None else {"hasValue": scope[0]}
        )
        parts.append(builder.shared_node(_path(facet), minCount=Literal(1), **matches))
    # An exception that applies displaces this rule.
    parts.extend(builder.negation(_applies(builder, other, [], floor)) for other in overriding)
    return builder.conjunction(parts)


def _compile_version(
    builder: _Builder, version: RuleVersion, overriding: list[RuleVersion], floor: bool
) -> None:
    policy = builder.policy
    # Written with the version's first shape: a version that requires nothing gets no APPLIES.
    applies: list[BNode] = []
    local = str(version.iri).rsplit("/", 1)[-1] + ("-floor" if floor else "")
    floor_note = "; the baseline is only this plan's coverage floor, its contract decides" if floor else ""

    def shape(
        kind: str, requirement: Node, field: URIRef, message: str, severity: URIRef = SH.Violation
    ) -> None:
        if not applies:
            applies.append(_applies(builder, version, overriding, floor))
        builder.implication(
            URIRef(f"{SHAPES}{local}-{kind}"),
            applies[0],
            requirement,
            message=f"{FIELDS[field]} {message} ({version.label}{floor_note})",
            enforces=version.iri,
            field=field,
            severity=SH.Warning if floor else severity,
        )

    def words(values: list[Literal]) -> str:
        return " or ".join(str(v) for v in values)

    recognized = version.value(PK.recognized)
    if version.value(PK.determination) == PK.NotCovered or (
        isinstance(recognized, Literal) and not recognized.toPython()
    ):
        shape(
            "not-covered",
            builder.node(builder.property([("", PK.code)], maxCount=Literal(0))),
            PK.code,
            f"{BILLED_CODE}: not covered by this payer in this situation",
        )
    for facet in FACETS:
        required = version.values(facet.requirement) if facet.requirement is not None else []
        if not required:
            continue
        field = facet.encounter_path[-1]
        if facet.vocabulary is None:
            if required[0] == Literal(True):
                shape(
                    facet.shape_suffix,
                    builder.node(builder.property(_path(facet), hasValue=Literal(True))),
                    field,
                    "must be yes",
                )
            continue
        allowed = _notations(policy, required)
        # An encounter that does not say cannot show that the requirement is met.
        stated = builder.property(_path(facet), minCount=Literal(1), **{"in": allowed})
        shape(facet.shape_suffix, builder.node(stated), field, f"must be {words(allowed)}")
    required_pos = _notations(policy, version.values(PK.requiresPlaceOfService))
    if required_pos:
        shape(
            "place-of-service",
            builder.node(builder.property([("", PK.posCode)], minCount=Literal(1), **{"in": required_pos})),
            PK.posCode,
            f"must be {words(required_pos)}",
        )
    forbidden = [
        ("no-place-of-service", PK.forbidsPlaceOfService, PK.posCode, "must not be"),
        ("no-modifier", PK.forbidsModifier, PK.modifier, "must not include"),
    ]
    for kind, prop, field, verb in forbidden:
        refused = _notations(policy, version.values(prop))
        if refused:
            absent = builder.property([("", field)], **{"not": _in(builder, refused)})
            shape(kind, builder.node(absent), field, f"{verb} {words(refused)}")
    required_modifiers = _notations(policy, version.values(PK.requiresModifier))
    if required_modifiers:
        qualified = builder.property(
            [("", PK.modifier)],
            qualifiedValueShape=_in(builder, required_modifiers),
            qualifiedMinCount=Literal(1),
        )
        shape("modifier", builder.node(qualified), PK.modifier, f"must include {words(required_modifiers)}")
    limits = [
        ("minimum-minutes", PK.minimumMinutes, PK.minutes, "minInclusive", "must be at least {}"),
        ("maximum-minutes", PK.maximumMinutes, PK.minutes, "maxInclusive", "must be at most {}"),
        ("minimum-data-days", PK.minimumDataDays, PK.dataDays, "minInclusive", "must be at least {}"),
        ("maximum-data-days", PK.maximumDataDays, PK.dataDays, "maxInclusive", "must be at most {}"),
    ]
    for kind, prop, field, constraint, template in limits:
        value = version.value(prop)
        if value is not None:
            shape(
                kind,
                builder.node(builder.property([("", field)], minCount=Literal(1), **{constraint: value})),
                field,
                template.format(value),
            )
    excluded = _notations(policy, version.values(PK.notBillableWith))
    if excluded:
        shape(
            "not-billable-with",
            builder.node(builder.property(SIBLING_CODES_PATH, **{"not": _in(builder, excluded)})),
            PK.code,
            f"{BILLED_CODE} must not be billed with {words(excluded)} on the same encounter",
        )
    # Documentation the record must show is a violation when absent; conditions no field can
    # show are warnings until the record attests them.
    for prop, kind, verb, severity in (
        (PK.requiresDocumentation, "documentation", "must include", SH.Violation),
        (PK.condition, "condition", "should attest", SH.Warning),
    ):
        for notation in _notations(policy, version.values(prop)):
            present = builder.property(DOCUMENTATION_PATH, hasValue=notation)
            shape(
                f"{kind}-{notation}",
                builder.node(present),
                PK.documentationPresent,
                f"{verb} {notation}",
                severity,
            )


def _in(builder: _Builder, values: list[Literal]) -> BNode:
    shape = BNode()
    builder.add(shape, SHACL["in"], builder.rdf_list(values))
    return shape


def _compile_code_validity(builder: _Builder, policy: PolicyGraph) -> None:
    """Codes with dates in their code system: a line may bill them only while valid."""
    for row in policy.select("codes-with-validity"):
        code, notation = row["code"], row["notation"]
        dates: dict[str, Identifier] = {"minCount": Literal(1)}
        if row.get("validFrom") is not None:
            dates["minInclusive"] = row["validFrom"]
        if row.get("validThrough") is not None:
            dates["maxInclusive"] = row["validThrough"]
        applies = builder.node(builder.property([("", PK.code)], hasValue=notation))
        valid = builder.node(builder.property(DATE_PATH, **dates))
        through, start = row.get("validThrough"), row.get("validFrom")
        span = (
            f"deleted from its code set after {through}"
            if through is not None
            else f"valid only from {start}"
        )
        builder.implication(
            URIRef(f"{SHAPES}code-validity-{notation}"),
            applies,
            valid,
            message=f"code {notation} is not valid on the date of service ({span})",
            enforces=code,
            field=PK.code,
        )


def _compile_known_terms(builder: _Builder, policy: PolicyGraph) -> None:
    """The encounter's payer and each line's code must be ones the graph knows: no rule applies to
    an unknown one, so without these shapes it would conform in silence. ``{$value}`` in the
    message is the submitted payer or code (see payerkg.validation.validate)."""
    known = [
        (
            "payer",
            PK.dateOfService,
            PK.encounterPayer,
            "payers",
            "id",
            "payer {$value} is not a payer payerkg knows (GET /payers lists them)",
        ),
        (
            "code",
            PK.code,
            PK.code,
            "procedure-codes",
            "notation",
            "code {$value} is not a CPT or HCPCS code payerkg knows (policies/codes lists them)",
        ),
    ]
    for kind, target, path, query, column, message in known:
        values = sorted({Literal(str(row[column])) for row in policy.select(query)})
        shape, prop = URIRef(f"{SHAPES}known-{kind}"), URIRef(f"{SHAPES}known-{kind}-value")
        builder.add(shape, RDF.type, SH.NodeShape)
        builder.add(shape, SH.targetSubjectsOf, target)
        builder.add(shape, SH.property, prop)
        builder.add(prop, SH.path, path)
        builder.add(prop, SHACL["in"], builder.rdf_list(values))
        builder.add(prop, SH.message, Literal(message))
        builder.add(prop, SH.severity, SH.Violation)
