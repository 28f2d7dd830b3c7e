"""Commands about a store say which store they read, or ask the running service (--server):
never "audit log intact" for a new, empty in-process store, never a raw lock error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from payerkg.cli.main import command_line
from tests.editing.keys import API_KEYS, KEYS
from tests.service_process import ServiceProcess

RULE = Path(__file__).resolve().parents[1] / "editing" / "add-uhc-rpm-2027.ttl"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(command_line(args), list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", [["audit", "verify"], ["audit", "log"], ["diff", "rev:1", "rev:2"]])
def test_on_the_in_memory_store_commands_refuse_and_say_why(args: list[str]) -> None:
    code, out, err = run(*args, env={"PAYERKG_STORE": "memory"})
    assert code == 2
    assert "PAYERKG_STORE is memory" in err and "--server" in err
    assert "intact" not in out + err


def test_audit_verify_of_a_store_without_revisions_is_not_intact(tmp_path: Path) -> None:
    env = {"PAYERKG_STORE": "oxigraph", "PAYERKG_STORE_PATH": str(tmp_path / "empty")}
    code, _, err = run("audit", "verify", env=env)
    assert code == 2 and "holds no revision" in err and "intact" not in err
    assert f"the Oxigraph store at {tmp_path / 'empty'}" in err


def test_what_if_names_the_graph_it_checks_against() -> None:
    code, _, err = run("what-if", str(RULE), env={"PAYERKG_STORE": "memory"})
    assert code == 0, err
    assert "checking against the shipped policy files in this process" in err


def test_server_urls_and_unreachable_services_are_clear_errors() -> None:
    code, _, err = run("audit", "verify", "--server", "ftp://example", "--key", "k")
    assert code == 2 and "--server must be an http" in err
    code, _, err = run("audit", "verify", "--server", "http://127.0.0.1:9", "--key", "k")
    assert code == 2 and "cannot reach the service" in err
    code, _, err = run("diff", "main", "rev:2", "--server", "http://127.0.0.1:9")
    assert code == 2 and "rev:N" in err


@pytest.mark.process
def test_against_a_running_service_on_oxigraph(tmp_path: Path) -> None:
    env = {"PAYERKG_STORE": "oxigraph", "PAYERKG_STORE_PATH": str(tmp_path / "store")}
    service = ServiceProcess(env | {"PAYERKG_API_KEYS": json.dumps(API_KEYS)}, tmp_path / "service.log")
    service.start()
    try:
        # The service holds the store's lock: a clear message and exit 2, no traceback.
        for args in (["audit", "verify"], ["diff", "rev:1", "rev:1"], ["what-if", str(RULE)]):
            code, out, err = run(*args, env=env)
            assert code == 2, (args, out, err)
            assert "is open in another process" in err and "--server URL" in err
            assert "Traceback" not in out + err and "LOCK" not in err
        # Asked over HTTP, the same commands answer about the service's own store.
        server = ["--server", service.url]
        code, _, err = run("audit", "verify", *server, env=env | {"PAYERKG_KEY": KEYS["admin"]})
        assert (code, f"audit log intact (the service at {service.url})") == (0, err.strip())
        code, out, _ = run("audit", "log", *server, "--key", KEYS["admin"])
        assert code == 0 and json.loads(out.splitlines()[0])["number"] == 1
        code, _, err = run("diff", "rev:1", "rev:1", *server, "--key", KEYS["reader"])
        assert code == 0 and "no differences" in err
        code, out, err = run("what-if", str(RULE), "--format", "json", *server, "--key", KEYS["editor"])
        assert code == 0, err
        assert json.loads(out)["would_be_accepted"] is True
        code, _, err = run("audit", "verify", *server, "--key", KEYS["reader"])
        assert code == 2 and "403 forbidden" in err
        code, _, err = run("audit", "verify", *server, "--key", "not-a-key")
        assert code == 2 and "401 not_authenticated" in err
    finally:
        service.stop()
