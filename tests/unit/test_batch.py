"""Batch validation gives the same records, in input order, on one process or several."""

from __future__ import annotations

import json

from benchmarks.encounters import generate

from payerkg.graph.dataset import PolicyGraph
from payerkg.services.validation import validate_batch


def test_forked_workers_give_the_sequential_records_in_order(policy: PolicyGraph) -> None:
    lines = [json.dumps(e).encode() for e in generate(1200, seed=4)]
    lines.insert(7, b"{not json")
    sequential = list(validate_batch(policy, lines, workers=1))
    parallel = list(validate_batch(policy, lines, workers=2))
    assert [r.line for r in parallel] == list(range(1, len(lines) + 1))
    assert [r.status for r in parallel] == [r.status for r in sequential]
    assert [json.loads(r.text)["line"] for r in parallel] == [r.line for r in sequential]
    assert [r.violated_rules for r in parallel] == [r.violated_rules for r in sequential]
    assert parallel[7].status == "refused"
    assert {r.status for r in parallel} == {"conforms", "does-not-conform", "refused"}
