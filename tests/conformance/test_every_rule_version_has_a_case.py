"""Every active rule version is named by at least one coverage or encounter case beside the rules
(as gatekeeper-library requires a test suite per policy): a rule nobody asks about can be wrong
unnoticed."""

from __future__ import annotations

import json
from pathlib import Path

from payerkg.graph.dataset import PolicyGraph, default_data_root, load_dataset
from payerkg.namespaces import PK

POLICIES = default_data_root() / "policies"


def _named_in_cases(root: Path) -> set[str]:
    named: set[str] = set()
    for path in root.glob("*/cases/coverage.json"):
        for case in json.loads(path.read_text())["cases"]:
            named.update(case["expect"].get("rules_include", []))
    for path in root.glob("*/cases/encounters/*.json"):
        case = json.loads(path.read_text())
        named.update(case.get("rules", []))
        named.update(f["rule"] for f in case["expect"]["findings"] if f["rule"])
    return named


def _active_versions(policy: PolicyGraph) -> set[str]:
    return {
        str(version).rsplit("/", 1)[-1]
        for version in policy.dataset.subjects(PK.status, PK.Active)
        if (version, None, PK.RuleVersion) in policy.dataset
    }


def test_every_active_rule_version_is_named_by_a_case() -> None:
    missing = sorted(_active_versions(load_dataset()) - _named_in_cases(POLICIES))
    assert not missing, f"active rule versions no case names: {missing}"
