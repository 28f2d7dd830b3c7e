"""No tracked file points outside the repository: users have only the repository, so statements
cite their public sources (policies/sources.ttl), never a working file or path of the authors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelt in parts so that this file does not match itself.
FORBIDDEN = ("FA" + "CTS", "../" + "shared", "/work" + "/shared", "shared" + "/domain")


def _tracked_text_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode("utf-8")
    files = [ROOT / name for name in listed.split("\0") if name]
    return [path for path in files if path.is_file() and b"\0" not in path.read_bytes()]


def test_no_tracked_file_names_an_outside_file_or_path() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {word}"
        for path in _tracked_text_files()
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        for word in FORBIDDEN
        if word in line
    ]
    assert found == [], "cite the public source instead:\n" + "\n".join(found)
