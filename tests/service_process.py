"""`payerkg serve` as a child process on a free loopback port, for tests about real processes
(crashes, replicas sharing a store)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.oxigraph_server import free_port
from tests.support.http import HTTP

START_TIMEOUT_S = 60.0
ACCESS_LINE = re.compile(r" payerkg\.access \[(\d+)\] ")
"""An access log line, which names the worker process that answered (api/access_log.py)."""


@dataclass
class ServiceProcess:
    """One service process; ``start`` again after ``kill`` to restart it on the same port."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "payerkg.cli.main", "serve", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=os.environ | self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"the service exited with {code}: {self.log.read_text()}")
            try:
                if HTTP.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()  # no orphan left answering on the port
        raise RuntimeError(f"the service did not answer within {START_TIMEOUT_S:g} s: {self.log.read_text()}")

    def log_size(self) -> int:
        return self.log.stat().st_size

    def answered_by(self, since: int = 0) -> Counter[int]:
        """The processes that logged answers after byte ``since`` of the log: how many each."""
        with self.log.open("rb") as log:
            log.seek(since)
            return Counter(int(found) for found in ACCESS_LINE.findall(log.read().decode(errors="replace")))

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
