"""The API documentation page (`/docs`), served whole from this process.

FastAPI's own page loads Swagger UI from a CDN and its favicon from a third-party site: blank
offline, and every visit reported elsewhere. This page takes Swagger UI's files from the
swagger-ui-bundle-v2 package (Apache-2.0, its licence ships with it), turns off Swagger UI's
online validator badge, and sends a Content-Security-Policy that lets the page reach its own
origin only. ReDoc is not served.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from starlette.exceptions import HTTPException
from swagger_ui_bundle import swagger_ui_path

ASSETS_PATH = "/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
"""The files the page loads; no other file of the bundle is served."""

PAGE_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Swagger UI's start-up script is inline; everything else comes from this origin."""


def install(app: FastAPI) -> None:
    """Add `/docs` and its assets to an app built with ``docs_url=None, redoc_url=None``."""
    folder = Path(str(swagger_ui_path))

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers["content-security-policy"] = PAGE_POLICY
        return page

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    def asset(name: str) -> FileResponse:
        media = ASSETS.get(name)
        if media is None:
            raise HTTPException(404, "no such documentation asset")
        return FileResponse(folder / name, media_type=media, headers={"cache-control": "max-age=86400"})
