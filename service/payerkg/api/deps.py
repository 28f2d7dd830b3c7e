"""Dependencies shared by the routes: the served graph and the settings.

They are async, though only ``get_policy`` ever waits: FastAPI runs a plain function dependency
in a worker thread, a hop per dependency per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.served import ServedGraph
from payerkg.settings import Settings


async def get_served(request: Request) -> ServedGraph:
    served: ServedGraph = request.app.state.served
    return served


async def get_policy(request: Request) -> PolicyGraph:
    """The newest revision; one request answers from one revision throughout. Asking the store
    for its head (at most every PAYERKG_REVISION_CHECK_S) runs in a worker thread."""
    served: ServedGraph = request.app.state.served
    if served.check_due():
        return await run_in_threadpool(served.current)
    return served.current()


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PolicyDep = Annotated[PolicyGraph, Depends(get_policy)]
ServedDep = Annotated[ServedGraph, Depends(get_served)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
