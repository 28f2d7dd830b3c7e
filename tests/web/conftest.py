"""A real service process and a real browser (Debian's Chromium, driven by Playwright) for the
browser tests; `make browser-deps` installs the browser."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.editing.keys import API_KEYS
from tests.service_process import ServiceProcess

CHROMIUM = Path(os.environ.get("PAYERKG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "browser"
"""Where each journey leaves its screenshot."""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """``payerkg serve`` on a free loopback port, open to callers without a key as `make serve` is."""
    log = tmp_path_factory.mktemp("web-service") / "service.log"
    env = {
        "PAYERKG_ANONYMOUS_ROLE": "integrator",
        "PAYERKG_STORE": "memory",
        "PAYERKG_API_KEYS": json.dumps(API_KEYS),
    }
    process = ServiceProcess(env, log)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium, headless. Missing, it is a failure that says how to install it, never a skip."""
    if not CHROMIUM.exists():
        pytest.fail(f"no browser at {CHROMIUM}: run `make browser-deps` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
