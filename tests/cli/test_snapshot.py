"""Start-up snapshots (graph/snapshot.py) are correct, whatever their speed: a snapshot of other
data or of an older store revision is never used, a corrupt one or one another version wrote is
rebuilt, processes building at once leave one good snapshot, and answers are the same with and
without one."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest
from rdflib import RDF, XSD, BNode, Literal, URIRef
from rdflib.term import Node

from payerkg.cli.common import current_policy
from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.editing import proposals, revisions
from payerkg.editing.what_if import question_from
from payerkg.graph import snapshot
from payerkg.graph.dataset import PolicyGraph, default_data_root, files_hash, load_dataset, view_name
from payerkg.graph.rules import RuleModel, rule_model
from payerkg.jsondoc import JSONObject
from payerkg.services.startup import warm_up
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.validation.encounter import parse_encounter
from payerkg.validation.validate import ValidationResult, compiled_shapes, validate_encounter
from tests.service_process import ServiceProcess
from tests.support.http import HTTP

QUESTION = CoverageQuestion(payer="medicare", code="99213", date_of_service=date(2025, 6, 1))
EDITS = Path(__file__).resolve().parents[1] / "editing"


def _copy_data(root: Path) -> Path:
    for folder in ("ontology", "shapes", "policies"):
        shutil.copytree(default_data_root() / folder, root / folder)
    return root


def _snapshot_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{snapshot.SUFFIX}"))


def _load(folder: Path, root: Path) -> PolicyGraph:
    return snapshot.shipped_files(folder, root, files_hash(root), warm_up)


def _restored(policy: PolicyGraph) -> bool:
    """Whether the graph came from a snapshot (its views are restored, not built)."""
    return bool(policy.saved_views)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_data(tmp_path_factory.mktemp("data"))


def test_a_snapshot_is_used_for_the_same_files(tmp_path: Path, data: Path) -> None:
    built = _load(tmp_path, data)
    assert not _restored(built) and len(_snapshot_files(tmp_path)) == 1
    again = _load(tmp_path, data)
    assert _restored(again)
    assert again.revision == built.revision
    assert asdict(coverage(again, QUESTION)) == asdict(coverage(built, QUESTION))


def test_a_snapshot_of_other_files_is_never_used(tmp_path: Path) -> None:
    root = _copy_data(tmp_path / "data")
    folder = tmp_path / "cache"
    before = _load(folder, root)
    medicare = root / "policies" / "medicare"
    rule_file = sorted(medicare.glob("*.ttl"))[0]
    rule_file.write_text(rule_file.read_text() + '\n<urn:x-test:changed> <urn:x-test:p> "changed" .\n')
    after = _load(folder, root)
    assert not _restored(after), "a snapshot of the old files was used"
    assert after.content_hash == files_hash(root) != before.content_hash
    assert after.revision != before.revision
    assert len(_snapshot_files(folder)) == 2


def test_a_stale_snapshot_is_never_used_after_an_edit_on_a_store(tmp_path: Path) -> None:
    store_path, cache = tmp_path / "store", tmp_path / "cache"
    seeded = OxigraphStore(store_path)
    revisions.seed(seeded)
    seeded.close()
    settings = Settings(store="oxigraph", store_path=store_path, cache_dir=cache)
    question = CoverageQuestion(payer="uhc-commercial", code="99457", date_of_service=date(2027, 3, 1))

    def ask() -> tuple[bool, str, str]:
        policy = current_policy(settings)
        try:
            restored = _restored(policy)
            answer = coverage(policy, question)
            return restored, answer.determination, answer.graph_revision
        finally:
            policy.store.close()

    assert ask()[:2] == (False, "unknown")  # built, then ...
    assert ask()[:2] == (True, "unknown")  # ... read from the snapshot
    store = OxigraphStore(store_path)
    added = proposals.parse_rule_turtle((EDITS / "add-uhc-rpm-2027.ttl").read_text())
    revisions.commit(store, revisions.Change("add", "test", "editor", "snapshot test", (), added), 1)
    store.close()
    restored, determination, revision = ask()
    assert (restored, determination) == (False, "covered"), "the snapshot of revision 1 was used"
    assert revision.startswith("2-")
    assert ask()[:2] == (True, "covered")


def _remembered(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{snapshot.FILES_SUFFIX}"))


def _same_size_edit(path: Path) -> None:
    """Change one character, keeping the file's size and modification time."""
    status = path.stat()
    text = path.read_text()
    at = text.index("rdfs:label") + len("rdfs:label")
    path.write_text(text[: at + 3] + ("X" if text[at + 3] != "X" else "Y") + text[at + 4 :])
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert path.stat().st_size == status.st_size


def test_a_remembered_content_hash_is_used_only_while_the_files_are_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, folder = _copy_data(tmp_path / "data"), tmp_path / "cache"
    monkeypatch.setattr(snapshot, "SETTLED_S", 0)  # the files were copied just now
    first = snapshot.content_hash(folder, root)
    assert first == files_hash(root) and len(_remembered(folder)) == 1

    def unread(root: Path) -> str:
        raise AssertionError("the files were read again")

    with monkeypatch.context() as patched:
        patched.setattr(snapshot, "files_hash", unread)
        assert snapshot.content_hash(folder, root) == first  # remembered
    rule_file = sorted((root / "policies" / "medicare").glob("*.ttl"))[0]
    _same_size_edit(rule_file)
    assert snapshot.content_hash(folder, root) == files_hash(root) != first
    (root / "policies" / "medicare" / "new.ttl").write_text("<urn:x-test:s> <urn:x-test:p> 1 .\n")
    assert snapshot.content_hash(folder, root) == files_hash(root)
    monkeypatch.setattr(snapshot, "SETTLED_S", 3600)
    _same_size_edit(rule_file)  # changed within the hour: hashed, and the status not remembered
    memo = _remembered(folder)[0].read_bytes()
    assert snapshot.content_hash(folder, root) == files_hash(root)
    assert _remembered(folder)[0].read_bytes() == memo


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(b"garbage"), id="garbage"),
        pytest.param(lambda path: path.write_bytes(bytes(range(256))), id="binary"),
        pytest.param(lambda path: path.chmod(0o666), id="others-may-write"),
    ],
)
def test_a_damaged_remembered_content_hash_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: object
) -> None:
    root, folder = _copy_data(tmp_path / "data"), tmp_path / "cache"
    monkeypatch.setattr(snapshot, "SETTLED_S", 0)
    snapshot.content_hash(folder, root)
    [memo] = _remembered(folder)
    stamp = memo.read_text().split()[0]
    memo.write_text(f"{stamp} 000000000000")  # a wrong hash under the right status ...
    memo.chmod(0o600)
    assert callable(damage)
    damage(memo)  # ... damaged: never read back
    assert snapshot.content_hash(folder, root) == files_hash(root)


def test_commands_answer_from_the_files_as_they_are_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the commands' own path: a same-size edit after the hash was remembered is seen."""
    monkeypatch.setattr(snapshot, "SETTLED_S", 0)
    root = _copy_data(tmp_path / "data")
    settings = Settings(data_dir=root, cache_dir=tmp_path / "cache")
    before = current_policy(settings)
    assert before.content_hash == files_hash(root)
    _same_size_edit(sorted((root / "policies" / "medicare").glob("*.ttl"))[0])
    after = current_policy(settings)
    assert after.content_hash == files_hash(root) != before.content_hash


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b"not a snapshot\n" + b[100:], id="garbage"),
        pytest.param(lambda b: b[:-10] + bytes(10), id="payload-changed"),
        pytest.param(lambda b: b.replace(b" 0.", b" 9.", 1), id="other-version"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b.replace(b"\n", b""), id="no-line-end"),
    ],
)
def test_a_corrupt_or_foreign_snapshot_is_rebuilt(tmp_path: Path, data: Path, damage: object) -> None:
    _load(tmp_path, data)
    [path] = _snapshot_files(tmp_path)
    assert callable(damage)
    path.write_bytes(damage(path.read_bytes()))
    rebuilt = _load(tmp_path, data)
    assert not _restored(rebuilt)
    assert coverage(rebuilt, QUESTION).determination == coverage(load_dataset(data), QUESTION).determination
    assert _restored(_load(tmp_path, data)), "the rebuilt snapshot was not saved"


def test_an_edited_module_is_another_code_version() -> None:
    """A snapshot pickles payerkg's classes: a checkout whose modules changed must not read it."""
    module = Path(snapshot.__file__).resolve().parents[1] / "cli" / "telehealth_list.py"
    status = module.stat()
    before = snapshot.code_stamp.__wrapped__()
    os.utime(module, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    try:
        assert snapshot.code_stamp.__wrapped__() != before
    finally:
        os.utime(module, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert snapshot.code_stamp.__wrapped__() == before


def test_a_snapshot_others_may_write_is_not_read(tmp_path: Path, data: Path) -> None:
    _load(tmp_path, data)
    [path] = _snapshot_files(tmp_path)
    path.chmod(0o666)
    assert not _restored(_load(tmp_path, data))


def test_a_cache_folder_that_cannot_be_written_changes_nothing(tmp_path: Path, data: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder would be")
    policy = _load(blocked / "cache", data)
    assert coverage(policy, QUESTION).determination == coverage(load_dataset(data), QUESTION).determination


def test_snapshots_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYERKG_SNAPSHOTS", "false")
    monkeypatch.setenv("PAYERKG_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PAYERKG_DATA_DIR", str(_copy_data(tmp_path / "data")))
    current_policy(Settings())
    assert _snapshot_files(tmp_path) == []


def test_the_default_folder_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert snapshot.default_folder() == tmp_path / "payerkg"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/not/allowed")
    assert snapshot.default_folder() == Path.home() / ".cache" / "payerkg"


def _coverage_questions() -> list[CoverageQuestion]:
    found = []
    for path in sorted((default_data_root() / "policies").glob("*/cases/coverage.json")):
        found += [question_from(case["question"]) for case in json.loads(path.read_text())["cases"]]
    return found


def _encounters() -> list[bytes]:
    found = []
    for path in sorted((default_data_root() / "policies").glob("*/cases/encounters/*.json")):
        found.append(json.dumps(json.loads(path.read_text())["encounter"]).encode())
    return found


def test_answers_are_the_same_with_and_without_a_snapshot(tmp_path: Path) -> None:
    """Every coverage case's question and every encounter case, answered from the parsed files and
    from a snapshot of them (read back in full: dataset, rule model, shapes)."""
    root = default_data_root()
    parsed = load_dataset(root)
    _load(tmp_path, root)
    restored = _load(tmp_path, root)
    assert _restored(restored)
    # Restored shapes are compiled when an encounter first reaches them; parsed ones all at once.
    assert compiled_shapes(restored).compiled_count == 0 < compiled_shapes(parsed).compiled_count
    questions = _coverage_questions()
    encounters = _encounters()
    assert len(questions) > 50 and len(encounters) > 50
    for question in questions:
        assert asdict(coverage(restored, question)) == asdict(coverage(parsed, question)), question
    for body in encounters:
        expected = _verdict(validate_encounter(parsed, parse_encounter(body, "application/json")))
        assert _verdict(validate_encounter(restored, parse_encounter(body, "application/json"))) == expected


def test_a_restored_engine_reports_findings_without_the_rule_model(tmp_path: Path) -> None:
    """What a finding says of its rule and sources was read at warm-up and kept: judging every
    encounter case from a snapshot reads no rule model, and says what the parsed files say."""
    root = default_data_root()
    parsed = load_dataset(root)
    _load(tmp_path, root)
    restored = _load(tmp_path, root)
    verdicts = [
        _verdict(validate_encounter(restored, parse_encounter(body, "application/json")))
        for body in _encounters()
    ]
    assert any(verdict["findings"] for verdict in verdicts)
    assert view_name(RuleModel) in restored.saved_views, "the rule model was read"
    for body, verdict in zip(_encounters(), verdicts, strict=True):
        assert verdict == _verdict(validate_encounter(parsed, parse_encounter(body, "application/json")))


def _verdict(result: ValidationResult) -> JSONObject:
    """A verdict without its focus nodes: blank nodes, labelled afresh by each parse of an encounter."""
    verdict = result.to_dict()
    findings = verdict["findings"]
    assert isinstance(findings, list)
    return verdict | {"findings": [{k: v for k, v in f.items() if k != "focus_node"} for f in findings]}


@pytest.mark.process
def test_a_service_starts_from_the_snapshot_its_first_start_saved(tmp_path: Path) -> None:
    """`payerkg serve` on the in-memory store, started twice on one cache folder: the second start
    reads the snapshot the first saved (the file is left as it was) and answers every coverage
    case and encounter case as the first did, from the parsed files."""
    cache = tmp_path / "cache"
    service = ServiceProcess(
        {"PAYERKG_CACHE_DIR": str(cache), "PAYERKG_ANONYMOUS_ROLE": "integrator"}, tmp_path / "log"
    )
    answers = []
    for start in ("parsed", "from the snapshot"):
        service.start()
        try:
            answers.append(_answers(service.url))
        finally:
            service.stop()
        if start == "parsed":
            [saved] = _snapshot_files(cache)
            written = saved.stat().st_mtime_ns
    assert saved.stat().st_mtime_ns == written and _snapshot_files(cache) == [saved]
    assert len(answers[0]) > 100 and answers[1] == answers[0]


def _answers(url: str) -> list[object]:
    answers: list[object] = []
    for path in sorted((default_data_root() / "policies").glob("*/cases/coverage.json")):
        for case in json.loads(path.read_text())["cases"]:
            answered = HTTP.get(f"{url}/coverage", params=case["question"])
            answers.append((answered.status_code, answered.json()))
    for body in _encounters():
        judged = HTTP.post(f"{url}/validate", content=body, headers={"content-type": "application/json"})
        verdict = judged.json()
        verdict["findings"] = [{k: v for k, v in f.items() if k != "focus_node"} for f in verdict["findings"]]
        answers.append((judged.status_code, verdict))
    return answers


def test_a_store_seeded_from_the_files_answers_from_what_their_graph_built() -> None:
    """A service on the in-memory store seeds it from the files' graph (from a snapshot, or
    parsed): its revision 1 reads the rule model and the compiled shapes that graph built or
    restored, not a second build of each at start-up."""
    files = load_dataset()
    store = MemoryStore()
    revisions.seed(store, shipped=files)
    served = revisions.policy_at_head(store)
    assert served.revision == files.revision
    assert rule_model(served) is rule_model(files)
    assert compiled_shapes(served) is compiled_shapes(files)


@pytest.mark.process
def test_processes_building_at_once_leave_one_good_snapshot(tmp_path: Path) -> None:
    """Four `payerkg coverage` processes start together on an empty cache folder: each answers,
    the answers agree, and the folder ends with one whole snapshot that the next process reads."""
    cache = tmp_path / "cache"
    env = os.environ | {"PAYERKG_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "payerkg.cli.main", "coverage", "--payer", "medicare"]
    command += ["--code", "99213", "--date", "2025-06-01", "--format", "json"]
    running = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [process.communicate(timeout=300)[0] for process in running]
    assert [process.returncode for process in running] == [0, 0, 0, 0]
    assert len({json.dumps(json.loads(out), sort_keys=True) for out in outputs}) == 1
    assert not [p for p in cache.iterdir() if p.name.startswith(snapshot.PARTIAL)], "partial files left"
    assert len(_snapshot_files(cache)) == 1 and len(_remembered(cache)) <= 1
    key = snapshot.SnapshotKey(f"files:{default_data_root().resolve()}", files_hash())
    saved = snapshot.read(cache, key)
    assert saved is not None and saved.dataset and saved.views
    after = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(after.stdout) == json.loads(outputs[0])


def test_terms_come_back_from_a_snapshot_as_rdflib_made_them() -> None:
    """A snapshot pickles IRIs, literals and blank nodes as their parts, not through rdflib's
    constructors: each must come back equal, with the same hash, value, datatype, language and
    ill-typedness."""
    terms: list[Node] = [
        URIRef("https://w3id.org/payerkg/payer/medicare"),
        Literal("plain"),
        Literal("tagged", lang="en-US"),
        Literal("2024-01-01", datatype=XSD.date),
        Literal("2024-01-01T10:00:00Z", datatype=XSD.dateTime),
        Literal("1.50", datatype=XSD.decimal),
        Literal("007", datatype=XSD.integer),
        Literal("true", datatype=XSD.boolean),
        Literal("P1D", datatype=XSD.duration),
        Literal("2024-13-45", datatype=XSD.date),
        Literal("<b>bold</b>", datatype=RDF.HTML),
        Literal("https://example.org/a", datatype=XSD.anyURI),
        BNode("citation1"),
    ]
    restored = pickle.loads(snapshot.dumps(terms))
    assert len(restored) == len(terms)
    for term, back in zip(terms, restored, strict=True):
        assert type(back) is type(term) and back == term and hash(back) == hash(term), term
        assert back.n3() == term.n3()
        if isinstance(term, Literal):
            assert isinstance(back, Literal)
            assert (back.language, back.datatype, back.ill_typed) == (
                term.language,
                term.datatype,
                term.ill_typed,
            )
            if type(term.value) in snapshot.PLAIN_VALUES:
                assert back.value == term.value and type(back.value) is type(term.value), term
