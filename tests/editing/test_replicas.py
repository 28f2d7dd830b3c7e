"""Two API services sharing one SPARQL server (Oxigraph, then Virtuoso when installed), one taking
changes and one reading with two worker processes: an edit made through the writer is answered by
every worker of the reader, the reader refuses changes, concurrent edits on one base through the
writer give one revision, and every read that takes the whole graph (summary, rule documents, the
SPARQL endpoint) answers.

The servers start once per module (a few seconds each): the tests share them, so each edits with
rules of its own on the newest revision, and none depends on another's edits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from string import Template

import httpx
import pytest

from tests.editing.keys import API_KEYS, auth
from tests.oxigraph_server import OxigraphServer, oxigraph_server
from tests.service_process import ServiceProcess
from tests.support.http import HTTP
from tests.virtuoso_server import VirtuosoServer, virtuoso_server

pytestmark = pytest.mark.process  # a SPARQL server and two service processes

HERE = Path(__file__).parent
TEMPLATE = Template((HERE / "template-rule.ttl").read_text(encoding="utf-8"))
# Only test_an_edit_through_one_replica_is_answered_by_the_other adds a rule for e-visits (99421).
QUESTION = {"payer": "uhc-commercial", "code": "99421", "date": "2027-03-01"}


@pytest.fixture(scope="module", params=["oxigraph", pytest.param("virtuoso", marks=pytest.mark.virtuoso)])
def replicas(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    tmp_path = tmp_path_factory.mktemp(f"replicas-{request.param}")
    running = (
        oxigraph_server(tmp_path / "oxigraph") if request.param == "oxigraph" else virtuoso_server(tmp_path)
    )
    with running as server:
        env = _remote_env(server)
        seeded = subprocess.run(
            [sys.executable, "-m", "payerkg.cli.main", "store", "seed"],
            env=os.environ | env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert seeded.returncode == 0, seeded.stderr
        services = (
            ServiceProcess(env=env, log=tmp_path / "writer.log"),
            ServiceProcess(
                env=env | {"PAYERKG_EDITING": "false", "PAYERKG_WORKERS": "2"}, log=tmp_path / "reader.log"
            ),
        )
        try:
            for service in services:
                service.start()
            yield services
        finally:
            for service in services:
                service.stop()


def _remote_env(server: OxigraphServer | VirtuosoServer) -> dict[str, str]:
    return {
        "PAYERKG_STORE": "remote",
        "PAYERKG_STORE_QUERY_URL": server.query_url,
        "PAYERKG_STORE_UPDATE_URL": server.update_url,
        "PAYERKG_REVISION_CHECK_S": "0.2",
        "PAYERKG_API_KEYS": json.dumps(API_KEYS),
    }


def coverage(service: ServiceProcess) -> dict[str, object]:
    response = HTTP.get(f"{service.url}/coverage", params=QUESTION, headers=auth("reader"), timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def new_rule(rule_id: str, group: str) -> str:
    """A new rule covering ``group`` for uhc-commercial from 2027, with one version."""
    return TEMPLATE.substitute(
        rule=rule_id,
        version=f"{rule_id}-v1",
        group=group,
        start="2027-01-01",
        revises="",
        declare=f'rule:{rule_id} a pk:CoverageRule ; rdfs:label "Rule {rule_id}" .',
    )


def head(service: ServiceProcess) -> int:
    number: int = HTTP.get(f"{service.url}/health", timeout=30).json()["revision_number"]
    return number


def post(service: ServiceProcess, text: str, base: int, path: str = "/rules") -> httpx.Response:
    body = {"rule": text, "reason": "replica test", "base_revision": base}
    return HTTP.post(f"{service.url}{path}", json=body, headers=auth("editor"), timeout=120)


def outcome(response: httpx.Response) -> tuple[int, dict[str, object]]:
    return response.status_code, response.json()


def test_an_edit_through_one_replica_is_answered_by_the_other(
    replicas: tuple[ServiceProcess, ServiceProcess],
) -> None:
    first, second = replicas
    assert coverage(second)["determination"] == "unknown"
    response = post(first, new_rule("replica-e-visits", "e-visits"), base=head(first))
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + 10
    while coverage(second)["determination"] != "covered":
        assert time.monotonic() < deadline, "the second replica never saw the edit"
        time.sleep(0.2)
    answer = coverage(second)
    assert answer["graph_revision"] == response.json()["graph_revision"]
    assert "https://w3id.org/payerkg/rule-version/replica-e-visits-v1" in answer["rules"]  # type: ignore[operator]
    time.sleep(0.4)  # past PAYERKG_REVISION_CHECK_S: every worker asks the store before answering
    since = second.log_size()
    while len(second.answered_by(since)) < 2:  # each answer on a new connection, to either worker
        assert time.monotonic() < deadline + 30, "only one worker of the reader answered"
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: coverage(second), range(8)))
        assert {a["graph_revision"] for a in answers} == {response.json()["graph_revision"]}


def test_the_reader_refuses_changes(replicas: tuple[ServiceProcess, ServiceProcess]) -> None:
    _, reader = replicas
    status, body = outcome(post(reader, new_rule("replica-refused", "rtm"), base=head(reader)))
    assert (status, body["code"]) == (503, "editing_off")


def test_concurrent_edits_on_one_base_give_one_revision(
    replicas: tuple[ServiceProcess, ServiceProcess],
) -> None:
    writer, reader = replicas
    base = head(writer)
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda rule_id: outcome(post(writer, new_rule(rule_id, "virtual-check-ins"), base=base)),
                ["replica-concurrent-a", "replica-concurrent-b"],
            )
        )
    # Both changes are sound; only one can become the next revision, the other is stale.
    assert sorted(code for code, _ in results) == [201, 409]
    assert any(body.get("code") == "stale_revision" for _, body in results)
    log = HTTP.get(f"{reader.url}/revisions", headers=auth("reader"), timeout=30).json()
    assert [r["number"] for r in log] == list(range(1, base + 2))


def test_reads_of_the_whole_graph_answer_on_every_replica(
    replicas: tuple[ServiceProcess, ServiceProcess],
) -> None:
    for service in replicas:
        summary = HTTP.get(f"{service.url}/summary", headers=auth("reader"), timeout=60)
        assert summary.status_code == 200, summary.text
        rule = HTTP.get(
            f"{service.url}/rules/medicare-telephone-em-2024",
            headers=auth("reader") | {"accept": "text/turtle"},
            timeout=60,
        )
        assert rule.status_code == 200 and "ngsmedicare.com" in rule.text, rule.text
        answer = HTTP.post(
            f"{service.url}/sparql",
            data={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?p a pk:Payer }"},
            headers=auth("reader") | {"accept": "application/sparql-results+json"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) > 5
    writer, _ = replicas
    dry = post(
        writer, new_rule("replica-dry-run", "rpm-management"), base=head(writer), path="/rules/dry-run"
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["would_be_accepted"] is True
