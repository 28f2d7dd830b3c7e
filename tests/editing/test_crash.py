"""A service on an on-disk store killed with SIGKILL at random moments during a bounded stream of
edits, restarted, and checked: 0 acknowledged edits lost, 0 partial edits, audit records equal
committed edits."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from string import Template

import httpx
import pytest

from tests.editing.keys import API_KEYS, auth
from tests.service_process import ServiceProcess
from tests.support.http import HTTP

pytestmark = pytest.mark.process  # a service process, killed and restarted

HERE = Path(__file__).parent
TEMPLATE = Template((HERE / "template-rule.ttl").read_text(encoding="utf-8"))
EDITS = 6
KILLS = 3  # during the stream; each costs a restart and a retry (with the last kill, 4 kill points)
STATEMENTS_PER_EDIT = 16  # what the template says about a new rule, its version and the citation


def edit(number: int) -> str:
    rule_id = f"crash-rule-{number}"
    return TEMPLATE.substitute(
        rule=rule_id,
        version=f"{rule_id}-v1",
        group="rpm-management",
        start="2027-01-01",
        revises="",
        declare=f'rule:{rule_id} a pk:CoverageRule ; rdfs:label "Rule {rule_id}" .',
    )


def submit(service: ServiceProcess, number: int) -> str:
    """'acknowledged', 'already-in' (committed before a crash hid the reply) or 'lost-reply'."""
    try:
        head = HTTP.get(f"{service.url}/health", timeout=5).json()["revision_number"]
        response = HTTP.post(
            f"{service.url}/rules",
            json={"rule": edit(number), "reason": f"crash test edit {number}", "base_revision": head},
            headers=auth("editor"),
            timeout=60,
        )
    except httpx.HTTPError:
        return "lost-reply"
    if response.status_code == 201:
        return "acknowledged"
    if response.status_code == 422 and "already in the graph" in response.text:
        return "already-in"
    assert response.status_code in (409, 503), response.text  # a stale head after restart: retry
    return "lost-reply"


def test_sigkill_during_edits_loses_nothing_acknowledged(tmp_path: Path) -> None:
    service = ServiceProcess(
        env={
            "PAYERKG_STORE": "oxigraph",
            "PAYERKG_STORE_PATH": str(tmp_path / "store"),
            "PAYERKG_API_KEYS": json.dumps(API_KEYS),
            "PAYERKG_ANONYMOUS_ROLE": "none",
        },
        log=tmp_path / "service.log",
    )
    chance = random.Random(20261127)
    acknowledged: set[int] = set()
    kills = 0
    service.start()
    try:
        # The first edit runs unkilled and times how long an edit takes on this machine now, so
        # each kill lands at a random moment within one (checking, committing or replying)
        # whatever the load, and the test's length does not grow with it.
        began = time.monotonic()
        assert submit(service, 0) == "acknowledged"
        acknowledged.add(0)
        took = time.monotonic() - began
        number = 1
        retry = False
        while number < EDITS:
            killer = threading.Timer(chance.uniform(0.1, 0.9) * took, service.kill)
            if not retry and kills < KILLS:
                killer.start()
            outcome = submit(service, number)
            killer.cancel()
            if outcome == "acknowledged":
                acknowledged.add(number)
            if outcome in ("acknowledged", "already-in"):
                number += 1
            retry = outcome == "lost-reply"  # a retry runs unkilled: one restart per edit at most
            if service.process is not None and service.process.poll() is not None:
                kills += 1
                service.start()
        service.kill()
        kills += 1
        service.start()
        audit = HTTP.get(f"{service.url}/audit", headers=auth("admin"), timeout=30).json()
        verify = HTTP.get(f"{service.url}/audit/verify", headers=auth("admin"), timeout=30).json()
        rules = HTTP.get(f"{service.url}/rules", params={"payer": "uhc-commercial"}, headers=auth("reader"))
    finally:
        service.stop()
    # The figures docs/security.md reports (pytest -s shows them).
    print(f"crash figures: {kills} kill points, {len(acknowledged)} acknowledged of {EDITS} edits")
    assert kills >= 3, "the service was killed too few times: edits outran every kill"
    in_store = {int(v["id"].split("-")[2]) for v in rules.json() if v["id"].startswith("crash-rule-")}
    assert acknowledged <= in_store  # 0 acknowledged edits lost
    assert in_store == set(range(EDITS))  # every edit went in exactly once, retried or not
    edits = [r for r in audit if r["kind"] == "add"]
    assert len(edits) == len(in_store)  # audit records equal committed edits
    assert all(r["added_statements"] == STATEMENTS_PER_EDIT for r in edits)  # 0 partial edits
    assert verify == {"intact": True, "problems": []}  # each edit graph equals what its record added
