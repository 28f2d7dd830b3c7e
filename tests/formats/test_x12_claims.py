"""X12 837P claims read as encounters (docs/x12.md): the shipped example, envelope checks and
refusals naming the segment position, and no claim reported from a refused file."""

from __future__ import annotations

from pathlib import Path

import pytest

from payerkg.errors import InvalidClaim, ParseError, UnknownPayerIdentifier
from payerkg.graph.catalog import PayerIdentifiers
from payerkg.graph.dataset import PolicyGraph
from payerkg.services.validation import validate_x12
from payerkg.validation.formats.x12 import read_837p

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "claims.837"
CAP = 10_000_000


def example() -> str:
    return EXAMPLE.read_text()


def test_each_claim_of_the_example_reads_as_an_encounter(payer_ids: PayerIdentifiers) -> None:
    first, second = read_837p(EXAMPLE.read_bytes(), CAP, payer_ids)
    assert first.document == {
        "id": "UHC-VIDEO-1",
        "payer": "uhc-commercial",
        "date_of_service": "2024-03-01",
        "lines": [{"code": "99213", "modifiers": ["95"], "units": 1, "place_of_service": "02"}],
        "modality": "audio-video",
        "patient": {"status": "established"},
        "practitioner": {"type": "physician"},
    }
    assert second.document["lines"][0]["place_of_service"] == "11"  # SV105 wins over CLM05-1
    assert second.locations["lines[0].place_of_service"] == "2400 SV1-05, line 1, segment 40"
    assert first.locations["lines[0].place_of_service"] == "2300 CLM-05-1, segment 21"


def test_the_documented_locations_are_the_readers(payer_ids: PayerIdentifiers) -> None:
    second = read_837p(EXAMPLE.read_bytes(), CAP, payer_ids)[1]
    documented = (ROOT / "docs" / "x12.md").read_text()
    for field in ("lines[0].code", "lines[0].units", "payer", "date_of_service", "practitioner.type"):
        assert f"| `{field}` | `{second.locations[field]}`" in documented, field


def test_the_example_gives_one_verdict_per_claim_and_a_summary(
    policy: PolicyGraph, payer_ids: PayerIdentifiers
) -> None:
    answer = validate_x12(policy, EXAMPLE.read_bytes(), CAP)
    assert [(v.claim, v.no_violations) for v in answer.claims] == [
        ("UHC-VIDEO-1", True),
        ("UHC-VIDEO-2", False),
    ]
    rule = "https://w3id.org/payerkg/rule-version/uhc-telehealth-pos-02-or-10"
    violation = next(f for f in answer.claims[1].findings if f.severity == "violation")
    assert (violation.rule, violation.location) == (rule, "2400 SV1-05, line 1, segment 40")
    assert violation.citations
    assert answer.claims[1].location == "2300 CLM, segment 35"
    assert (answer.summary.claims, answer.summary.conform, answer.summary.do_not_conform) == (2, 1, 1)
    assert answer.summary.violations_by_rule == {rule: 1}


def test_a_claim_at_home_reads_its_state_and_a_line_date_range(payer_ids: PayerIdentifiers) -> None:
    text = (
        example()
        .replace("*02:B:1*", "*10:B:1*", 1)
        .replace("DTP*472*D8*20240301", "DTP*472*RD8*20240301-20240302", 1)
    )
    first = read_837p(text.encode(), CAP, payer_ids)[0]
    assert first.document["patient_location"] == {"setting": "home", "state": "IL"}
    assert first.document["date_of_service"] == "2024-03-01"
    assert first.locations["patient_location.state"] == "2010BA N4-02, segment 18"


SECOND_LINE_NEXT_DAY = (
    "DTP*472*D8*20240301~\nHL*3",
    "DTP*472*D8*20240301~\nLX*2~\nSV1*HC:99213*120*UN*1***1~\nDTP*472*D8*20240302~\nHL*3",
)


def refused(text: str, payer_ids: PayerIdentifiers) -> InvalidClaim:
    with pytest.raises(InvalidClaim) as caught:
        read_837p(text.encode(), CAP, payer_ids)
    return caught.value


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda t: t.replace("SE*40*", "SE*39*"), "segment 42 (SE)"),
        (lambda t: t.replace("GE*1*1", "GE*2*1"), "segment 43 (GE)"),
        (lambda t: t.replace("IEA*1*000000001", "IEA*1*000000002"), "segment 44 (IEA)"),
        (lambda t: t.replace("IEA*1*000000001~\n", ""), "the end of the file (after segment 43)"),
        (lambda t: t.replace("HL*3*1*22*0", "HL*3*9*22*0"), "segment 28 (HL)"),
        (lambda t: t.replace("ST*837*0001*005010X222A1", "ST*835*0001*005010X221A1"), "segment 3 (ST)"),
        (lambda t: t.replace("GS*HC*", "GS*HP*"), "segment 2 (GS-01)"),
        (lambda t: "hello, not X12", "segment 1 (ISA)"),
        (
            lambda t: t.replace("SV1*HC:99213:95*120*UN*1***1", "SV1*ZZ:99213:95*120*UN*1***1"),
            "segment 26 (SV1-01-1)",
        ),
        (
            lambda t: t.replace("SV1*HC:99213:95*120*UN*1***1", "SV1*HC:99213:95*120*UN*1.5***1"),
            "segment 26 (SV1-04)",
        ),
        (lambda t: t.replace("D8*20240301", "D8*20241301", 1), "segment 27 (DTP-03)"),
        (lambda t: t.replace("SE*40*", "SE*43*").replace(*SECOND_LINE_NEXT_DAY), "segment 30 (DTP-03)"),
        (
            lambda t: t.replace("LX*1~\nSV1*HC:99213:95*120*UN*1***1~\n", "", 1).replace("SE*40*", "SE*38*"),
            "segment 21 (CLM)",
        ),
    ],
)
def test_bad_files_are_refused_naming_the_segment(
    change: object, pointer: str, payer_ids: PayerIdentifiers
) -> None:
    error = refused(change(example()), payer_ids)  # type: ignore[operator]
    assert error.pointer == pointer, error.message
    assert pointer in error.message


def test_a_value_the_encounter_format_refuses_names_the_element(policy: PolicyGraph) -> None:
    text = example().replace("SV1*HC:99213:95*120*UN*1*11**1", "SV1*HC:9921*120*UN*1*11**1")
    with pytest.raises(InvalidClaim) as caught:
        validate_x12(policy, text.encode(), CAP)
    assert caught.value.pointer == "2400 SV1-01-2, line 1, segment 40"


def test_an_unknown_payer_refuses_the_whole_file(payer_ids: PayerIdentifiers) -> None:
    text = example().replace("PI*87726", "PI*11111", 1)
    with pytest.raises(UnknownPayerIdentifier) as caught:
        read_837p(text.encode(), CAP, payer_ids)
    assert caught.value.pointer == "segment 20 (NM1-09)"
    assert "11111" in caught.value.message  # a payer ID is safe to repeat, and says what to fix


def test_not_ascii_and_nul_are_parse_errors(payer_ids: PayerIdentifiers) -> None:
    with pytest.raises(ParseError):
        read_837p(example().replace("DOE", "DÖE").encode(), CAP, payer_ids)
    with pytest.raises(ParseError):
        read_837p(example().replace("DOE", "D\x00E").encode(), CAP, payer_ids)


def test_a_patient_loop_under_the_subscriber_keeps_its_payer_and_gives_the_patients_state(
    payer_ids: PayerIdentifiers,
) -> None:
    text = example().replace("HL*3*1*22*0", "HL*4*1*22*0").replace("HL*2*1*22*0", "HL*2*1*22*1")
    patient = "".join(
        f"{segment}~\n"
        for segment in (
            "HL*3*2*23*0",
            "PAT*19",
            "NM1*QC*1*DOE*KID",
            "N3*3 OAK ST",
            "N4*SPRINGFIELD*MO*658010000",
        )
    )
    patient += "DMG*D8*20100101*M~\n"
    text = text.replace("CLM*UHC-VIDEO-1*120***02:B:1", patient + "CLM*UHC-VIDEO-1*120***10:B:1", 1)
    first, second = read_837p(text.replace("SE*40*", "SE*46*").encode(), CAP, payer_ids)
    assert first.document["payer"] == second.document["payer"] == "uhc-commercial"
    assert first.document["patient_location"] == {"setting": "home", "state": "MO"}  # 2010CA, not 2010BA
    assert first.locations["patient_location.state"] == "2010CA N4-02, segment 25"
