"""The graph ships inside the package, and the service starts and answers from the shipped data.

Both tests use real processes: a wheel built with `pip wheel .` installed into a fresh virtual
environment outside the checkout, and `payerkg serve` on a free loopback port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.process  # pip, a fresh virtual environment, `payerkg serve`

ROOT = Path(__file__).resolve().parents[2]


def test_installed_wheel_runs_lint_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("payerkg-*.whl")
    with zipfile.ZipFile(wheel) as archive:  # the web pages' templates and style sheet ship too
        assert {"payerkg/web/templates/ask.html", "payerkg/web/static/web.css"} <= set(archive.namelist())
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # Reuse this environment's installed dependencies (a .pth line adds their folder, but not the
    # editable checkout, whose own .pth is not processed there), so the test needs no network.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    Path(site, "payerkg-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)],
        check=True,
        timeout=300,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PAYERKG_DATA_DIR")}
    located = subprocess.run(
        [str(python), "-c", "import payerkg.graph.dataset as d; print(d.default_data_root())"],
        cwd=outside,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert str(venv) in located.stdout, "the installed package must use its own shipped data"
    result = subprocess.run(
        [str(venv / "bin" / "payerkg"), "lint"],
        cwd=outside,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=60) as response:
        return int(response.status)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_health_and_the_readme_example() -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "payerkg.cli.main", "serve", "--port", str(port)],
        # Anonymous callers as `make serve` opens them; the race below needs 12 requests at once
        # from one address, past the per-address cap (tests/api/test_caller_limits.py tests that).
        env=os.environ | {"PAYERKG_ANONYMOUS_ROLE": "integrator", "PAYERKG_MAX_CONCURRENT_ANONYMOUS": "24"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                    health = json.load(response)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                assert time.monotonic() < deadline, "service did not start"
                time.sleep(0.3)
        assert health["status"] == "ok"
        query = (
            "payer=medicare&code=99213&date=2024-03-15&modality=audio-video"
            "&patient_status=established&patient_location=home"
        )
        with urllib.request.urlopen(f"{base}/coverage?{query}", timeout=30) as response:
            answer = json.load(response)
        assert answer["determination"] == "covered"
        assert [i["id"] for i in answer["billing"]["place_of_service_required"]] == ["10"]
        # Concurrent requests once raced on SPARQL parsing and all got 500s.
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda _: _status(f"{base}/coverage?{query}"), range(24)))
        assert statuses == [200] * 24
    finally:
        server.terminate()
        server.wait(timeout=30)
