"""A rule's description (``GET /rules/{id}`` and the rule page) is read by query; on the shipped
graph it must hold exactly what a walk of the whole graph gives: the rule or version, its versions
(for a rule), their citations and the sources cited."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from payerkg.errors import UnknownRule
from payerkg.graph.catalog import rule_description
from payerkg.graph.dataset import PolicyGraph
from payerkg.namespaces import PK, RULE, RV


def walked(policy: PolicyGraph, subjects: list[URIRef]) -> Graph:
    """The statements of ``subjects``, their citations and the sources those cite, from the whole graph."""
    graph, whole = Graph(), policy.dataset
    for subject in subjects:
        for p, o in whole.predicate_objects(subject):
            graph.add((subject, p, o))
            if p == PK.citation:
                for cp, co in whole.predicate_objects(o):
                    graph.add((o, cp, co))
                    if cp == PK.source:
                        for sp, so in whole.predicate_objects(co):
                            graph.add((co, sp, so))
    return graph


def test_every_rule_and_version_is_described_as_the_whole_graph_says(policy: PolicyGraph) -> None:
    versions = sorted(v for v in policy.dataset.subjects(RDF.type, PK.RuleVersion) if isinstance(v, URIRef))
    rules = sorted(
        {r for v in versions for r in policy.dataset.objects(v, PK.versionOf) if isinstance(r, URIRef)}
    )
    assert len(versions) > 100 and len(rules) > 50
    for version in versions:
        described = rule_description(policy, version.removeprefix(str(RV)))
        assert isomorphic(described, walked(policy, [version])), version
    for rule in rules:
        if RV[rule.removeprefix(str(RULE))] in versions:
            continue  # the id names a version too, which it describes (tested above)
        of_rule = sorted(v for v in policy.dataset.subjects(PK.versionOf, rule) if isinstance(v, URIRef))
        described = rule_description(policy, rule.removeprefix(str(RULE)))
        assert isomorphic(described, walked(policy, [rule, *of_rule])), rule


@pytest.mark.parametrize("rule_id", ["no-such-rule", "citation"])
def test_an_id_the_graph_does_not_describe_is_unknown(policy: PolicyGraph, rule_id: str) -> None:
    with pytest.raises(UnknownRule):
        rule_description(policy, rule_id)
