"""`payerkg validate`: files and NDJSON batches, with exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

from payerkg.validation.encounter import example_encounter
from tests.cli.test_lint import run_cli


def write(path: Path, encounter: dict[str, object]) -> Path:
    path.write_text(json.dumps(encounter))
    return path


def test_conforming_file_exits_0(tmp_path: Path) -> None:
    result = run_cli("validate", str(write(tmp_path / "good.json", example_encounter())))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "conforms" in result.stdout


def test_non_conforming_file_exits_1_and_names_rule_and_source(tmp_path: Path) -> None:
    bad = dict(example_encounter(), lines=[{"code": "99214", "modifiers": ["93"], "place_of_service": "02"}])
    result = run_cli("validate", "--format", "text", str(write(tmp_path / "bad.json", bad)))
    assert result.returncode == 1
    assert "place_of_service must be 10" in result.stdout
    assert "rule: https://w3id.org/payerkg/rule-version/medicare-telehealth-pos-home-2025" in result.stdout
    assert "source: " in result.stdout


def test_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    result = run_cli("validate", str(tmp_path / "broken.json"))
    assert result.returncode == 2
    assert "parse_error" in result.stderr and "Traceback" not in result.stderr
    assert run_cli("validate", str(tmp_path / "missing.json")).returncode == 2
    assert run_cli("validate", str(write(tmp_path / "x.xml", {}))).returncode == 2


def test_batch_prints_a_summary_table(tmp_path: Path) -> None:
    good = example_encounter()
    bad = dict(good, lines=[{"code": "99214", "place_of_service": "10"}])
    batch = tmp_path / "day.ndjson"
    batch.write_text("\n".join(json.dumps(e) for e in (good, bad, good)) + "\n")
    result = run_cli("validate", "--batch", str(batch))
    assert result.returncode == 1
    assert "conform                     2" in result.stdout
    assert "do not conform              1" in result.stdout
    assert "medicare-audio-only-home-2025" in result.stdout


NEVER_SILENT = Path(__file__).parents[1] / "conformance" / "never-silent"


def test_unknown_payer_code_and_typed_code_exit_1() -> None:
    """Each once conformed in silence (exit 0); now each is a finding (issue 14)."""
    files = ["violates-unknown-payer.json", "violates-unknown-code.json", "violates-code-language-tagged.ttl"]
    result = run_cli("validate", *(str(NEVER_SILENT / name) for name in files))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("DOES NOT CONFORM") == 3
    assert "payer medicre is not a payer payerkg knows" in result.stdout
    assert "code 99999 is not a CPT or HCPCS code payerkg knows" in result.stdout
    assert "code: must be a plain string" in result.stdout


def test_batch_with_unknown_payer_exits_1(tmp_path: Path) -> None:
    batch = tmp_path / "day.ndjson"
    batch.write_text((NEVER_SILENT / "violates-unknown-payer.json").read_text().replace("\n", "") + "\n")
    result = run_cli("validate", "--batch", str(batch))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "do not conform              1" in result.stdout
