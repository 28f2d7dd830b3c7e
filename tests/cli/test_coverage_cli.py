"""`payerkg coverage`: text and JSON output, and exit 2 with a message for bad input."""

from __future__ import annotations

import json

import pytest

from payerkg.graph.dataset import PolicyGraph
from payerkg.services.coverage import facet_values
from tests.cli.runner import run_cli


def test_json_answer() -> None:
    result = run_cli(
        "coverage",
        "--payer",
        "medicare",
        "--code",
        "99213",
        "--date",
        "2024-03-15",
        "--modality",
        "audio-video",
        "--patient-status",
        "established",
        "--patient-location",
        "home",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["determination"] == "covered"
    assert [i["id"] for i in answer["billing"]["place_of_service_required"]] == ["10"]


def test_text_answer_names_verdict_billing_and_sources() -> None:
    result = run_cli(
        "coverage",
        "--payer",
        "medicare",
        "--code",
        "99214",
        "--date",
        "2025-05-01",
        "--modality",
        "audio-only",
        "--patient-location",
        "home",
        "--patient-status",
        "established",
    )
    assert result.returncode == 0
    assert "CONDITIONAL" in result.stdout
    assert "modifier, one of: 93" in result.stdout
    assert "Sources:" in result.stdout and "fcso.com" in result.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["--payer", "nobody", "--code", "99213", "--date", "2024-01-01"], "no payer"),
        (["--payer", "medicare", "--code", "99213", "--date", "2024-02-30"], "--date"),
        (["--payer", "medicare", "--code", "9921'", "--date", "2024-02-01"], "code must be"),
        (
            ["--payer", "medicare", "--code", "99213", "--date", "2024-02-01", "--modality", "smoke-signal"],
            "modality",
        ),
    ],
)
def test_bad_input_exits_2_with_message(args: list[str], message: str) -> None:
    result = run_cli("coverage", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_values_lists_what_the_graph_defines_and_coverage_accepts_each(policy: PolicyGraph) -> None:
    """The values a facet takes come from the graph: `payerkg values` shows them, each is accepted
    by `payerkg coverage`, and one outside them is refused with the list."""
    listed = json.loads(run_cli("values", "--format", "json").stdout)
    assert listed == facet_values(policy)
    question = ["coverage", "--payer", "medicare", "--code", "99213", "--date", "2025-06-01"]
    for name, known in listed.items():
        option = "--" + name.replace("_", "-")
        for value in known:
            assert run_cli(*question, option, value).returncode == 0, (name, value)
        refused = run_cli(*question, option, "not-a-value")
        assert refused.returncode == 2
        assert ", ".join(known) in refused.stderr
