"""SPARQL checks over the loaded graph: codes as code-table.csv states them, sources, labels."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from rdflib import Literal

from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.queries import prepared

TABLE_CODES = [
    row
    for row in csv.DictReader(
        line for line in (Path(__file__).parent / "code-table.csv").open() if not line.startswith("#")
    )
]


def test_every_table_code_is_listed() -> None:
    assert len(TABLE_CODES) == 81


@pytest.mark.parametrize("row", TABLE_CODES, ids=[r["notation"] for r in TABLE_CODES])
def test_code_exists_with_table_validity(policy: PolicyGraph, row: dict[str, str]) -> None:
    found = list(
        policy.dataset.query(
            prepared("code-by-notation"), initBindings={"notation": Literal(row["notation"])}
        )
    )
    assert len(found) == 1, "code missing or duplicated"
    code = found[0]
    assert str(code.system).endswith("#" + row["system"])  # type: ignore[union-attr]
    assert (str(code.validFrom) if code.validFrom else "") == row["valid_from"]  # type: ignore[union-attr]
    assert (str(code.validThrough) if code.validThrough else "") == row["valid_through"]  # type: ignore[union-attr]


VERSIONS_WITHOUT_SOURCE = """
PREFIX pk: <https://w3id.org/payerkg/ontology#>
SELECT ?version WHERE {
  ?version a pk:RuleVersion .
  FILTER NOT EXISTS { ?version pk:citation/pk:source ?s . ?s pk:url ?url ; pk:accessed ?accessed }
}"""

TERMS_WITHOUT_LABEL = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?term WHERE {
  ?term a ?type .
  FILTER (?type IN (owl:Class, owl:ObjectProperty, owl:DatatypeProperty))
  FILTER NOT EXISTS { ?term rdfs:label ?label }
}"""


def test_every_rule_version_cites_a_source_with_url_and_access_date(policy: PolicyGraph) -> None:
    assert list(policy.dataset.query(VERSIONS_WITHOUT_SOURCE)) == []


def test_no_ontology_term_lacks_a_label(policy: PolicyGraph) -> None:
    assert list(policy.dataset.query(TERMS_WITHOUT_LABEL)) == []


def test_the_graph_holds_rule_versions(policy: PolicyGraph) -> None:
    count = policy.dataset.query(
        "SELECT (COUNT(?v) AS ?n) WHERE { ?v a <https://w3id.org/payerkg/ontology#RuleVersion> }"
    )
    (row,) = list(count)
    assert int(row[0]) > 40  # type: ignore[index,arg-type]  # a SELECT row
