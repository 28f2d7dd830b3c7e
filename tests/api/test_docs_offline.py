"""The API documentation page works offline and reports nothing to third parties: every URL it
references is on its own origin and answers 200, and its Content-Security-Policy allows no other."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.settings import Settings
from payerkg.stores import MemoryStore

REFERENCE = re.compile(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(), store=MemoryStore())


def test_docs_reference_only_their_own_origin_and_each_reference_answers(app: FastAPI) -> None:
    client = TestClient(app)
    page = client.get("/docs")
    assert page.status_code == 200
    references = REFERENCE.findall(page.text)
    assert len(references) >= 4  # script, style sheet, favicon, the OpenAPI document
    assert [r for r in references if urlsplit(r).scheme or r.startswith("//")] == []
    assert "validatorUrl" in page.text and "null" in page.text  # no badge fetched from a validator
    for reference in references:
        assert client.get(reference).status_code == 200, reference
    policy = page.headers["content-security-policy"]
    assert "http" not in policy and "default-src 'none'" in policy


def test_only_the_pages_own_assets_are_served(app: FastAPI) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    for name in ("index.html", "swagger-ui.js.map", "..%2F..%2F__init__.py", "nothing"):
        assert client.get(f"/docs/assets/{name}").status_code == 404, name


def test_redoc_is_not_served(app: FastAPI) -> None:
    assert TestClient(app).get("/redoc").status_code == 404
