"""HEAD wherever GET is (RFC 9110 §9.3.2): the GET answer's status and headers, without its body.

FastAPI routes answer only the methods they name, so every HEAD request is run as a GET, with the
same checks (key, role, parameters, limits) and the same headers, Content-Length included; the body
is dropped on the way out. A path without GET answers HEAD with the GET's 405 and its ``Allow``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """ASGI middleware: HEAD runs as GET and loses its body. Added first, so that it is the innermost
    and the access log outside it still records HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # The scope itself, not a copy: the router records the matched route in it for the access log.
        scope["method"] = "GET"
        try:
            await self.app(scope, receive, headers_only)
        finally:
            scope["method"] = "HEAD"
