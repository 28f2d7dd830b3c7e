"""Claims name their payer by an identifier the graph states (docs/fhir.md, docs/x12.md): a NAIC
company code in FHIR (system urn:oid:2.16.840.1.113883.6.300) or in X12 2010BB (NM108 NI), an
electronic payer ID otherwise; an unknown code is refused like an unknown payer ID, and the graph's
quality checks refuse an identifier two payers share or one no citation names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from payerkg.errors import UnknownPayerIdentifier
from payerkg.graph.catalog import PayerIdentifiers, payer_identifiers
from payerkg.graph.dataset import PolicyGraph, load_dataset
from payerkg.services.validation import validate_fhir, validate_x12
from payerkg.validation.formats.fhir import NAIC, read_fhir_claim
from payerkg.validation.formats.x12 import read_837p
from payerkg.validation.lint import lint

DATA = Path(__file__).resolve().parent / "data"
FHIR_NAIC = DATA / "fhir-coverage-naic.json"
X12_NAIC = DATA / "claims-naic.837"
X12_EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "claims.837"
CAP = 10_000_000


@pytest.fixture(scope="module")
def naic_policy() -> PolicyGraph:
    """The real graph plus one test payer that carries NAIC company code 99999."""
    return load_dataset(extra=[DATA / "naic-payer.ttl"])


def fhir_naic() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(FHIR_NAIC.read_text())
    return document


def test_the_graph_states_the_documented_electronic_payer_ids(payer_ids: PayerIdentifiers) -> None:
    assert payer_ids.electronic("62308") == "cigna-commercial"
    assert payer_ids.electronic("99999") is None
    assert payer_ids.naic("62308") is None  # a payer ID is not a NAIC code, even when digits agree


def test_a_coverage_payor_naic_code_names_its_payer(naic_policy: PolicyGraph) -> None:
    mapped = read_fhir_claim(FHIR_NAIC.read_bytes(), payer_identifiers(naic_policy))
    assert mapped.document["payer"] == "naic-test-payer"
    assert mapped.locations["payer"] == "Coverage.payor[0]"
    assert validate_fhir(naic_policy, FHIR_NAIC.read_bytes()).mapped.document["payer"] == "naic-test-payer"


def test_a_claim_insurer_naic_code_names_its_payer(naic_policy: PolicyGraph) -> None:
    document = fhir_naic()
    claim = document["entry"][0]["resource"]
    claim["insurer"] = {"identifier": {"system": NAIC, "value": "99999"}}
    mapped = read_fhir_claim(json.dumps(document).encode(), payer_identifiers(naic_policy))
    assert (mapped.document["payer"], mapped.locations["payer"]) == ("naic-test-payer", "Claim.insurer")


def test_an_unknown_naic_code_is_refused_like_an_unknown_payer_id(payer_ids: PayerIdentifiers) -> None:
    with pytest.raises(UnknownPayerIdentifier) as caught:
        read_fhir_claim(FHIR_NAIC.read_bytes(), payer_ids)
    assert caught.value.pointer == "Coverage.payor[0]"


def test_an_x12_ni_qualifier_names_the_payer_by_naic_code(naic_policy: PolicyGraph) -> None:
    first, second = read_837p(X12_NAIC.read_bytes(), CAP, payer_identifiers(naic_policy))
    assert first.document["payer"] == second.document["payer"] == "naic-test-payer"
    assert first.locations["payer"] == "2010BB NM1-09, segment 20"
    answer = validate_x12(naic_policy, X12_NAIC.read_bytes(), CAP)
    assert [verdict.claim for verdict in answer.claims] == ["UHC-VIDEO-1", "UHC-VIDEO-2"]


def test_an_unknown_naic_code_refuses_the_whole_x12_file(payer_ids: PayerIdentifiers) -> None:
    with pytest.raises(UnknownPayerIdentifier) as caught:
        read_837p(X12_NAIC.read_bytes(), CAP, payer_ids)
    assert caught.value.pointer == "segment 20 (NM1-09)"
    assert "NAIC company code 99999" in caught.value.message


def test_the_qualifier_decides_which_identifier_nm109_is(naic_policy: PolicyGraph) -> None:
    ids = payer_identifiers(naic_policy)
    as_payer_id = X12_NAIC.read_text().replace("NI*99999", "PI*99999")
    with pytest.raises(UnknownPayerIdentifier):
        read_837p(as_payer_id.encode(), CAP, ids)
    example = X12_EXAMPLE.read_text()
    with pytest.raises(UnknownPayerIdentifier):  # 87726 is an electronic payer ID, not a NAIC code
        read_837p(example.replace("PI*87726", "NI*87726").encode(), CAP, ids)
    plan_id = example.replace("PI*87726", "XV*87726")
    with pytest.raises(UnknownPayerIdentifier):  # a CMS PlanID names no payer payerkg knows
        read_837p(plan_id.encode(), CAP, ids)


def test_lint_refuses_shared_and_uncited_identifiers(tmp_path: Path) -> None:
    shared = tmp_path / "shared.ttl"
    shared.write_text(
        (DATA / "naic-payer.ttl")
        .read_text()
        .replace('pk:naicCompanyCode "99999"', 'pk:electronicPayerId "62308" ; pk:naicCompanyCode "9999"')
    )
    messages = {problem.message for problem in lint(load_dataset(extra=[shared]))}
    assert any("two payers state the same identifier 62308" in m for m in messages), messages
    assert any("9999 has no pk:citation" in m for m in messages), messages
    assert any("a NAIC company code is five digits, not 9999" in m for m in messages), messages
