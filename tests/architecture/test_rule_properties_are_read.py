"""Every ontology property that rule versions use is read by some code: a property no engine
reads is a statement editors write in vain (or, worse, believe is enforced)."""

from __future__ import annotations

import re
from pathlib import Path

from rdflib import RDF

from payerkg.graph.dataset import PolicyGraph
from payerkg.namespaces import PK

PACKAGE = Path(__file__).resolve().parents[2] / "service" / "payerkg"


def _read_by_code() -> set[str]:
    python = "\n".join(path.read_text() for path in PACKAGE.rglob("*.py"))
    queries = "\n".join(path.read_text() for path in (PACKAGE / "queries").glob("*.rq"))
    return set(re.findall(r"\bPK\.(\w+)", python)) | set(re.findall(r"\bpk:(\w+)", queries))


def test_every_pk_property_on_rule_versions_is_read(policy: PolicyGraph) -> None:
    graph = policy.dataset
    used = {
        str(p).removeprefix(str(PK))
        for version in graph.subjects(RDF.type, PK.RuleVersion)
        for p in graph.predicates(version)
        if str(p).startswith(str(PK))
    }
    assert used, "the shipped graph has rule versions"
    assert sorted(used - _read_by_code()) == []
