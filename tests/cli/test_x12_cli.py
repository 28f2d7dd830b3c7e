"""`payerkg validate` on X12 837P files: each claim with the segment and element of its findings,
a summary, --batch with a progress bar, exit 2 naming the segment position."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_lint import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "claims.837"


def test_each_claim_is_shown_with_where_its_findings_are() -> None:
    result = run_cli("validate", str(EXAMPLE))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "claim UHC-VIDEO-1 at 2300 CLM, segment 21: conforms" in result.stdout
    assert "claim UHC-VIDEO-2 at 2300 CLM, segment 35: DOES NOT CONFORM" in result.stdout
    assert "at: 2400 SV1-05, line 1, segment 40" in result.stdout
    assert "rule: https://w3id.org/payerkg/rule-version/uhc-telehealth-pos-02-or-10" in result.stdout
    assert "do not conform              1" in result.stdout


def test_batch_shows_progress_and_a_summary_and_json_one_line_per_claim() -> None:
    result = run_cli("validate", "--batch", str(EXAMPLE))
    assert result.returncode == 1
    assert "validating claims" in result.stderr
    assert "claims                      2" in result.stdout
    assert "DOES NOT CONFORM" not in result.stdout  # the table only
    as_json = run_cli("validate", "--format", "json", str(EXAMPLE))
    claims = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [c["claim"] for c in claims] == ["UHC-VIDEO-1", "UHC-VIDEO-2"]


def test_a_refused_file_exits_2_naming_the_segment(tmp_path: Path) -> None:
    broken = tmp_path / "broken.837"
    broken.write_text(EXAMPLE.read_text().replace("PI*87726", "PI*11111", 1))
    result = run_cli("validate", str(broken))
    assert result.returncode == 2
    assert "unknown_payer_identifier: segment 20 (NM1-09)" in result.stderr
    assert "conforms" not in result.stdout and "Traceback" not in result.stderr
    assert run_cli("validate", str(EXAMPLE), str(tmp_path / "x.json")).returncode == 2


def test_an_unknown_naic_code_exits_2_naming_the_segment() -> None:
    naic = Path(__file__).resolve().parents[1] / "formats" / "data" / "claims-naic.837"
    result = run_cli("validate", str(naic))
    assert result.returncode == 2
    assert "unknown_payer_identifier: segment 20 (NM1-09): NAIC company code 99999" in result.stderr
