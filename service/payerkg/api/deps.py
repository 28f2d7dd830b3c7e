"""Dependencies shared by the routes: the graph and settings loaded once at start-up."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from payerkg.core.dataset import PolicyGraph
from payerkg.settings import Settings


def get_policy(request: Request) -> PolicyGraph:
    """The graph loaded at start-up; tests may serve another one through create_app."""
    policy: PolicyGraph = request.app.state.policy
    return policy


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PolicyDep = Annotated[PolicyGraph, Depends(get_policy)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
