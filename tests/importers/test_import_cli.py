"""`payerkg import ...` on the command line: exit 0 with a diff on a dry run, 2 on a bad file."""

from __future__ import annotations

import pytest

from tests.cli.runner import run_cli
from tests.importers.conftest import FILES


@pytest.fixture(autouse=True)
def _memory_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYERKG_STORE", "memory")


def test_dry_run_prints_the_diff() -> None:
    ran = run_cli(
        "import",
        "cms-telehealth-list",
        str(FILES / "cms-telehealth-list-2025.csv"),
        "--year",
        "2025",
        "--published",
        "2024-11-01",
        "--dry-run",
    )
    assert ran.returncode == 0
    assert "+ pk:appliesTo cpt:90837" in ran.stdout
    assert "dry run: nothing changed" in ran.stderr
    assert "G9999" in ran.stderr


def test_malformed_file_exits_2_naming_row_and_column() -> None:
    ran = run_cli(
        "import",
        "cms-telehealth-list",
        str(FILES / "cms-telehealth-list-malformed.csv"),
        "--year",
        "2025",
        "--published",
        "2024-11-01",
    )
    assert ran.returncode == 2
    assert "cms-telehealth-list-malformed.csv:5: column HCPCS:" in ran.stderr


def test_hcpcs_differences_exit_1() -> None:
    ran = run_cli("import", "hcpcs", str(FILES / "HCPC2025-fixture.xlsx"), "--year", "2025")
    assert ran.returncode == 1
    assert "HCPC2025-fixture.xlsx:2: G2012 pk:validFrom graph none, file 2019-01-01" in ran.stdout
