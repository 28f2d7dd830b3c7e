"""Dependencies shared by the routes: the served graph and the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.served import ServedGraph
from payerkg.settings import Settings


def get_served(request: Request) -> ServedGraph:
    served: ServedGraph = request.app.state.served
    return served


def get_policy(request: Request) -> PolicyGraph:
    """The newest revision; one request answers from one revision throughout."""
    return get_served(request).current()


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PolicyDep = Annotated[PolicyGraph, Depends(get_policy)]
ServedDep = Annotated[ServedGraph, Depends(get_served)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
