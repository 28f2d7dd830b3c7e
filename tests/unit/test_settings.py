"""Settings read from PAYERKG_* variables: each case in settings-cases.json gives an environment
and the value one field takes, or the message that refuses it (naming the variable, never its
value)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from payerkg.errors import SettingsError
from payerkg.settings import Settings
from tests.cli.runner import run_cli

CASES = json.loads((Path(__file__).with_name("settings-cases.json")).read_text(encoding="utf-8"))


def clear_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("PAYERKG_") and name.upper() != "PAYERKG_CACHE_DIR":
            monkeypatch.delenv(name)


@pytest.mark.parametrize("case", CASES, ids=[json.dumps(c["env"]) for c in CASES])
def test_each_variable_is_read_as_its_type_or_refused(
    case: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_environment(monkeypatch)
    for name, value in dict(case["env"]).items():  # type: ignore[call-overload]
        monkeypatch.setenv(name, value)
    if "error" in case:
        with pytest.raises(SettingsError) as refused:
            Settings()
        assert refused.value.message == case["error"]
        return
    value = getattr(Settings(), str(case["field"]))
    expected = Path(str(case["value"])) if isinstance(value, Path) else case["value"]
    assert value == expected and type(value) is type(expected)


def test_keywords_win_over_the_environment_and_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_environment(monkeypatch)
    monkeypatch.setenv("PAYERKG_ANONYMOUS_ROLE", "reader")
    assert Settings(anonymous_role="integrator").anonymous_role == "integrator"
    given = Settings(store_path="relative/store")  # type: ignore[arg-type]
    assert given.store_path == Path("relative/store")
    with pytest.raises(SettingsError, match="anonymous_role: one of none, reader, integrator"):
        Settings(anonymous_role="root")  # type: ignore[arg-type]


def test_a_bad_variable_is_a_message_and_exit_2_for_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYERKG_PORT", "eighty")
    ran = run_cli("coverage", "--payer", "medicare", "--code", "99213", "--date", "2026-06-01")
    assert ran.returncode == 2
    assert ran.stderr.strip() == "payerkg: PAYERKG_PORT: an integer expected"
    assert "eighty" not in ran.stderr
