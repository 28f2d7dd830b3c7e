"""A seeded generator of realistic Medicare encounters, about a fifth of them violating a rule."""

from __future__ import annotations

import random
from typing import Any

# Templates that conform on their dates; each is a (date, encounter body) pair.
CONFORMING: list[dict[str, Any]] = [
    {
        "date_of_service": "2024-03-15",
        "modality": "audio-video",
        "patient": {"status": "established"},
        "patient_location": {"setting": "home", "rural": False},
        "practitioner": {"type": "physician"},
        "lines": [{"code": "99213", "place_of_service": "10", "minutes": 22}],
        "documentation": ["patient-location"],
    },
    {
        "date_of_service": "2025-05-01",
        "modality": "audio-only",
        "patient": {"status": "established"},
        "patient_location": {"setting": "home", "rural": False},
        "practitioner": {"type": "nurse-practitioner"},
        "lines": [{"code": "99214", "modifiers": ["93"], "place_of_service": "10", "minutes": 31}],
        "documentation": [
            "audio-only-reason",
            "patient-location",
            "practitioner-video-capable",
            "patient-declines-video",
        ],
    },
    {
        "date_of_service": "2026-03-10",
        "modality": "audio-video",
        "patient": {"status": "new"},
        "patient_location": {"setting": "facility", "rural": True},
        "practitioner": {"type": "physician"},
        "lines": [{"code": "99204", "place_of_service": "02", "minutes": 46}],
        "documentation": ["patient-location"],
    },
    {
        "date_of_service": "2024-02-01",
        "modality": "audio-video",
        "patient": {"status": "established"},
        "patient_location": {"setting": "home"},
        "practitioner": {"type": "clinical-social-worker"},
        "lines": [{"code": "90837", "place_of_service": "10", "minutes": 55}],
        "documentation": ["patient-location"],
    },
    {
        "date_of_service": "2024-09-05",
        "modality": "remote-monitoring",
        "patient": {"status": "established"},
        "patient_location": {"setting": "home"},
        "practitioner": {"type": "physician"},
        "lines": [
            {"code": "99457", "place_of_service": "11", "minutes": 22},
            {"code": "99454", "data_days": 18},
        ],
        "documentation": ["monitoring-consent", "management-time", "data-days"],
    },
    {
        "date_of_service": "2025-01-15",
        "modality": "audio-only",
        "patient": {"status": "established"},
        "patient_location": {"setting": "home"},
        "practitioner": {"type": "physician"},
        "lines": [{"code": "98016", "minutes": 8}],
        "documentation": ["verbal-consent", "patient-initiated"],
    },
    {
        "date_of_service": "2024-11-01",
        "modality": "asynchronous",
        "patient": {"status": "established"},
        "patient_location": {"setting": "home"},
        "practitioner": {"type": "physician"},
        "lines": [{"code": "99422", "minutes": 15}],
        "documentation": ["verbal-consent"],
    },
]


def _violate(encounter: dict[str, Any], rng: random.Random) -> None:
    """Break one thing a biller typically gets wrong."""
    line = encounter["lines"][0]
    mistake = rng.choice(["pos", "modifier", "documentation", "status", "minutes"])
    if mistake == "pos":
        line["place_of_service"] = "11" if line.get("place_of_service") in ("02", "10") else "10"
    elif mistake == "modifier":
        line["modifiers"] = ["95"]
    elif mistake == "documentation":
        encounter["documentation"] = []
    elif mistake == "status":
        encounter["patient"] = {"status": "new"}
        if line["code"].startswith("992") and line["code"] < "99211":
            line["code"] = "99457"
    else:
        line["minutes"] = 1


def generate(count: int, seed: int = 42, violating_share: float = 0.2) -> list[dict[str, Any]]:
    """``count`` encounters drawn from the templates with a fixed seed."""
    rng = random.Random(seed)
    encounters = []
    for number in range(count):
        template = rng.choice(CONFORMING)
        encounter = {"id": f"bench-{number}", "payer": "medicare", **_deep_copy(template)}
        if rng.random() < violating_share:
            _violate(encounter, rng)
        encounters.append(encounter)
    return encounters


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
