"""X12 837P (005010X222A1) professional claims as encounters, one per claim (CLM).

pyx12's reader splits the interchange into segments (its delimiters read from the ISA) and checks
the envelope as it goes: ISA/IEA, GS/GE and ST/SE pairs, control numbers and counts, HL parents
and LX numbering. Any envelope error, a transaction set that is not an 837P, or a claim that cannot
be read refuses the whole file, naming the segment's position: nothing is partly reported as valid.
docs/x12.md maps each segment and element.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date

import pyx12.errors
import pyx12.segment
import pyx12.x12file

from payerkg.errors import InvalidClaim, ParseError, TooLarge, UnknownPayerIdentifier
from payerkg.graph.catalog import PayerIdentifiers
from payerkg.jsondoc import JSONObject
from payerkg.validation.formats.mapped import (
    MappedEncounter,
    ModalityEvidence,
    OpenFact,
    crosswalks,
    decide_modality,
    decide_patient_status,
    shown,
)

IMPLEMENTATION = "005010X222A1"
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_CLAIMS = 100_000

PAYERKG_PAYER_ID = re.compile(r"[a-z][a-z0-9-]{1,59}")


@dataclass
class _Line:
    position: int
    number: str
    document: JSONObject = field(default_factory=dict)
    date: tuple[str, int] | None = None
    taxonomy: tuple[str, int] | None = None


@dataclass
class _Claim:
    position: int
    claim_id: str
    payer: tuple[str, str, int]
    """NM108 (the identifier's qualifier), NM109 and the position of the 2010BB NM1*PR segment."""
    place_of_service: str | None
    subscriber_state: tuple[str, int] | None
    patient_state: tuple[str, int] | None
    billing_taxonomy: tuple[str, int] | None
    date: tuple[str, int] | None = None
    taxonomy: tuple[str, int] | None = None
    lines: list[_Line] = field(default_factory=list)


@dataclass
class _State:
    """Where the reader is: the transaction set, the HL level and the entity an N4 or PRV is about."""

    in_837p: bool = False
    level: str = ""
    entity: str = ""
    billing_taxonomy: tuple[str, int] | None = None
    payer: tuple[str, str, int] | None = None
    subscriber_state: tuple[str, int] | None = None
    patient_state: tuple[str, int] | None = None
    claim: _Claim | None = None
    line: _Line | None = None


def where(position: int, segment: str, element: str = "") -> str:
    """How a refusal or finding names a place in the file: ``segment 27 (SV1-01-2)``."""
    return f"segment {position} ({segment}{'-' + element if element else ''})"


def element(loop: str, segment: str, element: str, position: int, line: str | None = None) -> str:
    """How a finding names where its field came from: ``2400 SV1-01-2, line 1, segment 26``."""
    return f"{loop} {segment}-{element}{', ' + line if line else ''}, segment {position}"


def read_837p(body: bytes, max_bytes: int, payers: PayerIdentifiers) -> list[MappedEncounter]:
    """Every claim of an 837P interchange as an encounter, its payer named by an identifier
    ``payers`` (the graph's) knows, or an ``InputError`` naming the segment position of the first
    thing wrong (envelope, transaction set, claim)."""
    if len(body) > max_bytes:
        raise TooLarge(f"the file is larger than {max_bytes} bytes", "body")
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as error:
        raise ParseError(f"an X12 file is ASCII text (byte {error.start} is not)", "body") from None
    if "\x00" in text:
        raise ParseError("the file contains a NUL character", "body")
    try:
        reader = pyx12.x12file.X12Reader(io.StringIO(text))
    except pyx12.errors.X12Error:
        raise InvalidClaim(
            "segment 1 (ISA): not an X12 interchange: it must begin with a 106-character ISA segment",
            "segment 1 (ISA)",
        ) from None
    except Exception:  # pyx12 raises assorted errors on a malformed ISA
        raise InvalidClaim(
            "not an X12 interchange: the ISA segment cannot be read", "segment 1 (ISA)"
        ) from None
    claims: list[_Claim] = []
    state = _State()
    position = 0
    try:
        for segment in reader:
            position = reader.get_cur_line()
            _envelope_errors(reader, where(position, segment.get_seg_id() or "?"))
            _read(segment, position, state, claims)
            if len(claims) > MAX_CLAIMS:
                raise TooLarge(f"the file holds more than {MAX_CLAIMS} claims", "body")
        if reader.raw.buffer.strip() or reader.raw.fd.read(1):  # pyx12 stops there without a word
            at = where(position + 1, "segment")
            raise InvalidClaim(
                f"{at}: cannot be read (an empty segment, or one of more than 8,192 characters)", at
            )
        reader.cleanup()
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, IndexError, ValueError, AttributeError):
        raise InvalidClaim(
            f"{where(position + 1, 'segment')}: cannot be read", where(position + 1, "?")
        ) from None
    _envelope_errors(reader, f"the end of the file (after segment {position})")
    if not claims:
        raise InvalidClaim("the file holds no 837P claim (CLM)", "body")
    return [_mapped(claim, payers) for claim in claims]


def _envelope_errors(reader: pyx12.x12file.X12Reader, at: str) -> None:
    """pyx12's envelope findings (their text names control numbers and counts, never claim data)."""
    errors = reader.pop_errors()
    if errors:
        message = str(errors[0][2])[:200]
        raise InvalidClaim(f"{at}: envelope error: {message}", at)


def _read(segment: pyx12.segment.Segment, position: int, state: _State, claims: list[_Claim]) -> None:
    seg_id = segment.get_seg_id() or ""
    value = segment.get_value
    if seg_id == "GS" and value("GS01") != "HC":
        raise InvalidClaim(
            f"{where(position, 'GS', '01')}: not a health care claim functional group (GS01 HC)",
            where(position, "GS", "01"),
        )
    if seg_id == "ST":
        if value("ST01") != "837" or value("ST03") != IMPLEMENTATION:
            raise InvalidClaim(
                f"{where(position, 'ST')}: not an 837P transaction set ({IMPLEMENTATION} in ST03)",
                where(position, "ST"),
            )
        state.__init__()  # type: ignore[misc]
        state.in_837p = True
        return
    if not state.in_837p:
        return
    if seg_id == "SE":
        state.in_837p = False
        return
    if seg_id == "HL":
        state.level, state.entity, state.claim, state.line = value("HL03") or "", "", None, None
        if state.level == "22":
            state.payer = state.subscriber_state = state.patient_state = None
        elif state.level == "20":
            state.billing_taxonomy = None
        return
    if seg_id == "NM1":
        state.entity = value("NM101") or ""
        if state.entity == "PR" and state.claim is None:
            state.payer = (value("NM108") or "", value("NM109") or "", position)
        return
    if seg_id == "N4":
        if state.entity == "IL" and value("N402"):
            state.subscriber_state = (value("N402") or "", position)
        elif state.entity == "QC" and value("N402"):
            state.patient_state = (value("N402") or "", position)
        return
    if seg_id == "PRV":
        taxonomy = (value("PRV03") or "", position)
        if value("PRV01") == "BI" and state.level == "20":
            state.billing_taxonomy = taxonomy
        elif value("PRV01") == "PE" and state.entity == "82":
            target = state.line if state.line is not None else state.claim
            if target is not None:
                target.taxonomy = taxonomy
        return
    if seg_id == "CLM":
        _start_claim(segment, position, state, claims)
    elif seg_id == "LX":
        if state.claim is None:
            raise InvalidClaim(
                f"{where(position, 'LX')}: a service line outside a claim", where(position, "LX")
            )
        state.line = _Line(position, value("LX01") or "")
        state.entity = ""
        state.claim.lines.append(state.line)
    elif seg_id == "SV1":
        if state.line is None:
            raise InvalidClaim(
                f"{where(position, 'SV1')}: SV1 outside a service line (LX)", where(position, "SV1")
            )
        _service(segment, position, state.line)
    elif seg_id == "DTP" and value("DTP01") == "472":
        day = (_date(segment, position), position)
        if state.line is not None:
            state.line.date = day
        elif state.claim is not None:
            state.claim.date = day


def _start_claim(segment: pyx12.segment.Segment, position: int, state: _State, claims: list[_Claim]) -> None:
    if state.payer is None:
        raise InvalidClaim(
            f"{where(position, 'CLM')}: the claim has no payer (2010BB NM1*PR) before it",
            where(position, "CLM"),
        )
    pos = segment.get_value("CLM05-1")
    claim = _Claim(
        position,
        segment.get_value("CLM01") or "",
        state.payer,
        pos or None,
        state.subscriber_state,
        state.patient_state,
        state.billing_taxonomy,
    )
    state.claim, state.line, state.entity = claim, None, ""
    claims.append(claim)


def _service(segment: pyx12.segment.Segment, position: int, line: _Line) -> None:
    value = segment.get_value
    if value("SV101-1") not in ("HC",):
        raise InvalidClaim(
            f"{where(position, 'SV1', '01-1')}: the procedure code qualifier must be HC (CPT or HCPCS)",
            where(position, "SV1", "01-1"),
        )
    code = value("SV101-2") or ""
    if not code:
        raise InvalidClaim(
            f"{where(position, 'SV1', '01-2')}: no procedure code", where(position, "SV1", "01-2")
        )
    line.document["code"] = code
    modifiers = [m for i in range(3, 7) if (m := value(f"SV101-{i}"))]
    if modifiers:
        line.document["modifiers"] = modifiers
    units = value("SV104")
    if units:
        try:
            number = float(units)
        except ValueError:
            raise InvalidClaim(
                f"{where(position, 'SV1', '04')}: units must be a number", where(position, "SV1", "04")
            ) from None
        if number != int(number) or number < 1:
            raise InvalidClaim(
                f"{where(position, 'SV1', '04')}: units must be a whole number of at least 1",
                where(position, "SV1", "04"),
            )
        line.document["units"] = int(number)
    if value("SV105"):
        line.document["place_of_service"] = value("SV105")
    line.document["_position"] = position


def _date(segment: pyx12.segment.Segment, position: int) -> str:
    qualifier, text = segment.get_value("DTP02"), segment.get_value("DTP03") or ""
    if qualifier == "RD8":  # a range: its first day is the date of service
        text = text.split("-")[0]
    elif qualifier != "D8":
        raise InvalidClaim(
            f"{where(position, 'DTP', '02')}: the date format must be D8 or RD8", where(position, "DTP", "02")
        )
    try:
        return (
            date(int(text[:4]), int(text[4:6]), int(text[6:8])).isoformat()
            if len(text) == 8
            else _bad(position)
        )
    except ValueError:
        return _bad(position)


def _bad(position: int) -> str:
    raise InvalidClaim(f"{where(position, 'DTP', '03')}: not a date (CCYYMMDD)", where(position, "DTP", "03"))


def payer_named(qualifier: str, value: str, payers: PayerIdentifiers) -> str | None:
    """The payer 2010BB NM108/NM109 name: with ``NI`` a NAIC company code; otherwise (``PI``, as
    the 837P guide asks) an electronic payer ID, or a payerkg payer id itself (lower case, as
    ``medicare``) for payers whose electronic IDs are not confirmed; the encounter check then
    knows that id or refuses it. ``XV`` (CMS PlanID) names no payer payerkg knows."""
    if qualifier == "NI":
        return payers.naic(value)
    if qualifier == "XV":
        return None
    return payers.electronic(value) or (value if PAYERKG_PAYER_ID.fullmatch(value) else None)


def _mapped(claim: _Claim, payers: PayerIdentifiers) -> MappedEncounter:
    at = claim.position
    if not claim.lines:
        raise InvalidClaim(f"{where(at, 'CLM')}: the claim has no service line (LX, SV1)", where(at, "CLM"))
    locations: dict[str, str] = {
        "encounter": f"2300 CLM, segment {at}",
        "lines": f"2400, claim at segment {at}",
    }
    open_facts: list[OpenFact] = []
    qualifier, payer_id, payer_at = claim.payer
    payer = payer_named(qualifier, payer_id, payers)
    if payer is None:
        kind = "NAIC company code" if qualifier == "NI" else "payer identifier"
        raise UnknownPayerIdentifier(
            f"{where(payer_at, 'NM1', '09')}: {kind} {shown(payer_id)} (2010BB NM1*PR, NM108 "
            f"{shown(qualifier)}) names no payer payerkg knows (docs/x12.md lists them)",
            where(payer_at, "NM1", "09"),
        )
    locations["payer"] = element("2010BB", "NM1", "09", payer_at)
    lines: list[JSONObject] = []
    dates: list[tuple[str, int]] = []
    for i, line in enumerate(claim.lines):
        if "code" not in line.document:
            raise InvalidClaim(
                f"{where(line.position, 'LX')}: the service line has no SV1", where(line.position, "LX")
            )
        read = {k: v for k, v in line.document.items() if k != "_position"}
        sv1 = int(line.document["_position"])
        number = f"line {line.number or i + 1}"
        locations[f"lines[{i}]"] = f"2400 LX, {number}, segment {line.position}"
        locations[f"lines[{i}].code"] = element("2400", "SV1", "01-2", sv1, number)
        locations[f"lines[{i}].modifiers"] = element("2400", "SV1", "01-3", sv1, number)
        locations[f"lines[{i}].units"] = element("2400", "SV1", "04", sv1, number)
        if "place_of_service" in read:
            locations[f"lines[{i}].place_of_service"] = element("2400", "SV1", "05", sv1, number)
        elif claim.place_of_service:
            read["place_of_service"] = claim.place_of_service
            locations[f"lines[{i}].place_of_service"] = element("2300", "CLM", "05-1", at)
        day = line.date or claim.date
        if day is None:
            raise InvalidClaim(
                f"{where(line.position, 'LX')}: no date of service (DTP*472 on the line or the claim)",
                where(line.position, "LX"),
            )
        dates.append(day)
        lines.append(read)
    first = dates[0]
    different = next((d for d in dates if d[0] != first[0]), None)
    if different is not None:
        raise InvalidClaim(
            f"{where(different[1], 'DTP', '03')}: every service line of a claim must have the same date of "
            "service (one claim is validated as one encounter on one date)",
            where(different[1], "DTP", "03"),
        )
    locations["date_of_service"] = element("2400" if claim.lines[0].date else "2300", "DTP", "03", first[1])
    claim_id = claim.claim_id if SAFE_ID.fullmatch(claim.claim_id) else f"claim-at-segment-{at}"
    document: JSONObject = {"id": claim_id, "payer": payer, "date_of_service": first[0], "lines": lines}
    source = f"claim {claim_id}" if claim_id == claim.claim_id else f"the claim at segment {at}"
    modality, fact = decide_modality(
        ModalityEvidence(
            [m for line in lines for m in line.get("modifiers", [])],
            [line["place_of_service"] for line in lines if "place_of_service" in line],
        ),
        source,
    )
    locations["modality"] = locations["lines[0].modifiers"]
    if modality is not None:
        document["modality"] = modality
    if fact is not None:
        open_facts.append(fact)
    status, fact = decide_patient_status([line["code"] for line in lines], source)
    locations["patient.status"] = locations["lines[0].code"]
    if status is not None:
        document["patient"] = {"status": status}
    if fact is not None:
        open_facts.append(fact)
    location = _patient_location(claim, lines, locations, open_facts, source)
    if location:
        document["patient_location"] = location
    practitioner = _practitioner(claim, locations, open_facts, source)
    if practitioner is not None:
        document["practitioner"] = {"type": practitioner}
    locations["documentation"] = f"2300 CLM, segment {at} (an 837P carries no documentation attestations)"
    return MappedEncounter(
        document, locations, open_facts, claim.claim_id if SAFE_ID.fullmatch(claim.claim_id) else ""
    )


def _patient_location(
    claim: _Claim, lines: list[JSONObject], locations: dict[str, str], open_facts: list[OpenFact], source: str
) -> JSONObject:
    location: JSONObject = {}
    home = next((i for i, line in enumerate(lines) if line.get("place_of_service") == "10"), None)
    if home is not None:
        location["setting"] = "home"
        locations["patient_location.setting"] = locations[f"lines[{home}].place_of_service"]
        state = claim.patient_state or claim.subscriber_state
        if state is not None:
            location["state"] = state[0]
            loop = "2010CA" if claim.patient_state else "2010BA"
            locations["patient_location.state"] = element(loop, "N4", "02", state[1])
    else:
        locations["patient_location.setting"] = element("2300", "CLM", "05-1", claim.position)
        open_facts.append(
            OpenFact(
                "patient_location.setting",
                f"patient_location.setting: {source} does not decide whether the patient was at home or in "
                "a facility (place of service 10 would say home); payerkg does not guess it",
            )
        )
    if "state" not in location:
        open_facts.append(
            OpenFact(
                "patient_location.state",
                f"patient_location.state: {source} does not say in which state the patient was "
                "(the patient's or subscriber's N4 address is read only when the patient was at home)",
            )
        )
    open_facts.append(
        OpenFact(
            "patient_location.rural",
            f"patient_location.rural: an 837P claim does not say whether the patient's site is rural; "
            f"payerkg leaves it unstated ({source})",
        )
    )
    return location


def _practitioner(
    claim: _Claim, locations: dict[str, str], open_facts: list[OpenFact], source: str
) -> str | None:
    line_taxonomies = [line.taxonomy for line in claim.lines if line.taxonomy is not None]
    chosen = line_taxonomies[0] if line_taxonomies else claim.taxonomy or claim.billing_taxonomy
    if chosen is None:
        locations["practitioner.type"] = f"2310B PRV-03 (none), claim at segment {claim.position}"
        reason = "no rendering or billing provider taxonomy (PRV*PE or PRV*BI)"
    else:
        loop = "2420A" if line_taxonomies else "2310B" if claim.taxonomy else "2000A"
        locations["practitioner.type"] = element(loop, "PRV", "03", chosen[1])
        kind = crosswalks().practitioner_type(chosen[0])
        if kind is not None:
            return kind
        reason = f"NUCC taxonomy {shown(chosen[0])}, which maps to no practitioner type"
    open_facts.append(
        OpenFact(
            "practitioner.type",
            f"practitioner.type: {source} has {reason}; payerkg leaves the practitioner type unstated, "
            "and answers list who is eligible",
        )
    )
    return None
