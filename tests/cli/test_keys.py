"""API keys without a restart: `payerkg key new|list|revoke` write the key file a running service
watches; a new key works with the next request and a revoked one is refused with the next request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.runner import run_cli
from tests.service_process import ServiceProcess
from tests.support.http import HTTP


def new_key(key_file: Path, role: str, name: str) -> str:
    made = run_cli("key", "new", "--role", role, "--name", name, "--key-file", str(key_file))
    assert made.returncode == 0, made.stderr
    return made.stdout.removeprefix("key: ").strip()


def test_the_key_file_holds_digests_names_and_roles_never_keys(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    key = new_key(key_file, "editor", "alice")
    text = key_file.read_text()
    assert key not in text
    assert [(e["name"], e["role"]) for e in json.loads(text)["keys"]] == [("alice", "editor")]
    assert key_file.stat().st_mode & 0o077 == 0
    listed = run_cli("key", "list", "--key-file", str(key_file))
    assert listed.returncode == 0 and "alice\teditor" in listed.stdout and key not in listed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new", "--role", "editor", "--name", "alice"], "exists"),
        (["new", "--role", "owner", "--name", "bob"], "--role"),
        (["new", "--role", "reader", "--name", "bob smith"], "--name"),
        (["revoke", "--name", "carol"], "no key with this name"),
    ],
)
def test_bad_key_commands_exit_2_with_a_clear_message(tmp_path: Path, args: list[str], message: str) -> None:
    key_file = tmp_path / "keys.json"
    new_key(key_file, "editor", "alice")
    ran = run_cli("key", *args, "--key-file", str(key_file))
    assert ran.returncode == 2 and message in ran.stderr


def test_revoke_without_a_key_file_says_how_to_configure_one() -> None:
    ran = run_cli("key", "revoke", "--name", "alice")
    assert ran.returncode == 2 and "PAYERKG_KEY_FILE" in ran.stderr


@pytest.mark.process
def test_a_running_service_admits_a_new_key_and_refuses_a_revoked_one_at_once(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    service = ServiceProcess({"PAYERKG_KEY_FILE": str(key_file)}, tmp_path / "service.log")
    service.start()
    try:
        key = new_key(key_file, "admin", "alice")
        headers = {"authorization": f"Bearer {key}"}
        assert HTTP.get(f"{service.url}/audit/verify", headers=headers, timeout=30).status_code == 200
        other = new_key(key_file, "reader", "bob")
        assert HTTP.get(f"{service.url}/payers", headers={"x-api-key": other}, timeout=30).status_code == 200
        revoked = run_cli("key", "revoke", "--name", "alice", "--key-file", str(key_file))
        assert revoked.returncode == 0, revoked.stderr
        assert HTTP.get(f"{service.url}/audit/verify", headers=headers, timeout=30).status_code == 401
        assert HTTP.get(f"{service.url}/payers", headers={"x-api-key": other}, timeout=30).status_code == 200
    finally:
        service.stop()
