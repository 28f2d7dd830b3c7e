"""A client of a running payerkg service, for the CLI's ``--server URL`` commands.

The service holds the store (an Oxigraph folder is locked by the process that opened it, and an
in-memory store exists only inside the service), so commands about that store ask the service.
Errors become ``PayerKGError`` with the service's problem code and detail, never a traceback.
"""

from __future__ import annotations

from typing import Any

import httpx

from payerkg.errors import InvalidParameter, PayerKGError, StoreError


class ServiceClient:
    """Requests to one service with one API key (``Authorization: Bearer``)."""

    def __init__(self, url: str, key: str | None, timeout_s: float = 120.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvalidParameter("--server must be an http:// or https:// URL", "server")
        self.url = url.rstrip("/")
        self._headers = {"authorization": f"Bearer {key}"} if key else {}
        self._timeout_s = timeout_s

    def get(self, path: str, params: dict[str, str | int] | None = None) -> Any:
        return self._send("GET", path, params=params)

    def post(self, path: str, json_body: dict[str, Any]) -> Any:
        return self._send("POST", path, json=json_body)

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = httpx.request(
                method, self.url + path, headers=self._headers, timeout=self._timeout_s, **kwargs
            )
        except httpx.HTTPError as error:
            raise StoreError(f"cannot reach the service at {self.url} ({error.__class__.__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            detail = body.get("detail") if isinstance(body, dict) else None
            code = body.get("code") if isinstance(body, dict) else None
            raise PayerKGError(
                f"the service at {self.url} answered {response.status_code}"
                + (f" {code}: {detail}" if code else "")
            )
        if body is None:
            raise StoreError(f"the service at {self.url} did not answer JSON on {path}")
        return body
