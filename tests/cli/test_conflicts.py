"""Conflicts across the graph: the Cigna place-of-service disagreement (src:S72 against src:S74
and the 2022 FAQ copies) and nothing else."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.coverage.conflicts import graph_conflicts
from payerkg.graph.dataset import PolicyGraph
from payerkg.settings import Settings
from tests.cli.runner import run_cli


def test_cigna_place_of_service_conflict_shows_both_sides_with_evidence(policy: PolicyGraph) -> None:
    found = graph_conflicts(policy)
    cigna = [c for c in found if c.payer == "cigna-commercial" and c.topic == "place of service"]
    assert len(cigna) == 1
    sides = {c.rule.rsplit("/", 1)[-1]: c for c in (cigna[0].first, cigna[0].second)}
    assert sides["cigna-r31-billing-2021"].says == ["11", "19", "22"]
    assert sides["cigna-r31-billing-2021"].evidence_level == "Confirmed"
    assert sides["cigna-pos-02-from-2022-07"].says == ["02"]
    assert sides["cigna-pos-02-from-2022-07"].evidence_level == "SecondaryOnly"
    assert "99203" in cigna[0].codes and cigna[0].overlap_start == "2022-07-01"
    assert all(side.sources for side in sides.values())


def test_rules_that_cannot_apply_together_are_not_conflicts(policy: PolicyGraph) -> None:
    # Medicare's home (POS 10) and facility (POS 02) rules, and store-and-forward vs the
    # audio-only telephone codes, hold in situations that exclude each other.
    assert not [c for c in graph_conflicts(policy) if c.payer == "medicare"]


def test_cli_and_http(policy: PolicyGraph) -> None:
    result = run_cli("conflicts", "--format", "json")
    assert result.returncode == 0
    assert {c["payer"] for c in json.loads(result.stdout)} == {"cigna-commercial", "uhc-commercial"}
    client = TestClient(create_app(Settings(anonymous_role="integrator"), policy=policy))
    body = client.get("/conflicts").json()
    assert [(c["payer"], c["topic"]) for c in body] == [
        ("cigna-commercial", "place of service"),
        ("cigna-commercial", "rate basis"),  # payment parity against the July 2022 2% adjustment
        ("cigna-commercial", "rate basis"),
        ("uhc-commercial", "determination"),  # 2021 policy text against AAFP's PHE audio-only
    ]
