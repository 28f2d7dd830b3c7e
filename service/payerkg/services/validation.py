"""Validation as the API and the CLI offer it: one encounter, or an NDJSON batch over several cores."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from payerkg.graph.dataset import PolicyGraph
from payerkg.media import FHIR_JSON, X12_MEDIA
from payerkg.validation.encounter import DEFAULT_LIMITS, Limits, parse_encounter
from payerkg.validation.validate import (
    BatchRecord,
    LineVerdict,
    ValidationResult,
    compiled_shapes,
    judge_line,
    validate_encounter,
    validate_line,
)

# Claims (FHIR, X12) are read into encounters by the functions that judge them: a one-shot
# `payerkg validate one.json` does not import their module (3 ms).
if TYPE_CHECKING:
    from payerkg.validation.formats.mapped import (
        ClaimFileVerdict,
        ClaimVerdict,
        MappedEncounter,
        MappedResult,
    )


def validate(
    policy: PolicyGraph, body: bytes, media_type: str, limits: Limits = DEFAULT_LIMITS
) -> ValidationResult:
    """One encounter as submitted (JSON, JSON-LD or Turtle): parsed within ``limits`` (an
    ``InputError`` if refused), then judged against its payer's rules on its date of service."""
    return validate_encounter(policy, parse_encounter(body, media_type, limits))


def validate_fhir(policy: PolicyGraph, body: bytes, limits: Limits = DEFAULT_LIMITS) -> MappedResult:
    """One FHIR R4 Claim (alone or in a Bundle), read as an encounter and judged like one; each
    finding knows the Claim element it is about (docs/fhir.md)."""
    from payerkg.graph.catalog import payer_identifiers
    from payerkg.validation.formats.fhir import read_fhir_claim  # FHIR's models: only when asked
    from payerkg.validation.formats.mapped import validate_mapped

    return validate_mapped(policy, read_fhir_claim(body, payer_identifiers(policy), limits), limits)


def is_fhir(media_type: str) -> bool:
    return media_type.split(";")[0].strip().lower() == FHIR_JSON


def is_x12(media_type: str) -> bool:
    return media_type.split(";")[0].strip().lower() == X12_MEDIA


def read_x12(policy: PolicyGraph, body: bytes, max_bytes: int) -> list[MappedEncounter]:
    """Every claim of an 837P file read as an encounter, or an ``InputError`` naming the segment
    position: the whole file is read before any claim is judged (docs/x12.md)."""
    from payerkg.graph.catalog import payer_identifiers
    from payerkg.validation.formats.x12 import read_837p  # pyx12: only when asked

    return read_837p(body, max_bytes, payer_identifiers(policy))


def validate_x12(
    policy: PolicyGraph, body: bytes, max_bytes: int, limits: Limits = DEFAULT_LIMITS
) -> ClaimFileVerdict:
    """An 837P file: one verdict per claim, in file order, and their summary."""
    from payerkg.validation.formats.mapped import ClaimFileVerdict, ClaimsSummary

    verdicts = list(validate_claims(policy, read_x12(policy, body, max_bytes), limits))
    return ClaimFileVerdict("x12-837p", verdicts, ClaimsSummary.of(verdicts))


def validate_claims(
    policy: PolicyGraph, claims: list[MappedEncounter], limits: Limits = DEFAULT_LIMITS
) -> Iterator[ClaimVerdict]:
    """Judge claims already read, in order, one verdict each (``claim_records`` for big batches)."""
    from payerkg.validation.formats.mapped import ClaimVerdict, validate_mapped

    yield from (ClaimVerdict.of(validate_mapped(policy, claim, limits)) for claim in claims)


def validate_batch(
    policy: PolicyGraph, lines: Iterable[bytes], limits: Limits = DEFAULT_LIMITS, workers: int = 1
) -> Iterator[BatchRecord]:
    """Validate NDJSON lines in order; a bad line yields an error record and the batch goes on.

    With ``workers`` > 1 the lines are shared among forked processes, which inherit the loaded
    graph and compiled shapes (compiled here first) and send back finished text, not objects.
    """
    numbered = [(number, raw) for number, raw in enumerate(lines, start=1) if raw.strip()]
    return _fanned_out(policy, limits, numbered, validate_line, workers)


def judge_batch(
    policy: PolicyGraph, lines: Iterable[bytes], limits: Limits = DEFAULT_LIMITS
) -> Iterator[LineVerdict]:
    """Validate NDJSON lines in order in this process, each verdict kept whole (for a page that
    shows the findings); a bad line is a refused verdict and the batch goes on."""
    numbered = ((number, raw) for number, raw in enumerate(lines, start=1) if raw.strip())
    return (judge_line(policy, limits, item) for item in numbered)


BATCH_CHUNK = 256
Item = TypeVar("Item")
Judged = TypeVar("Judged")
# What forked batch workers inherit: the graph, the limits and the function that judges one item.
_BATCH_STATE: tuple[PolicyGraph, Limits, Callable[[PolicyGraph, Limits, Any], Any]] | None = None


def _fanned_out(
    policy: PolicyGraph,
    limits: Limits,
    items: list[Item],
    judge: Callable[[PolicyGraph, Limits, Item], Judged],
    workers: int,
) -> Iterator[Judged]:
    """Each item judged, in order: in this process, or, with ``workers`` > 1 and enough items to pay
    for the processes, shared among forked ones, which inherit the loaded graph and the compiled
    shapes (compiled here first) and send back what ``judge`` returns."""
    if workers <= 1 or len(items) < 4 * BATCH_CHUNK:
        yield from (judge(policy, limits, item) for item in items)
        return
    import multiprocessing  # a batch big enough to share: a one-shot command never imports it

    compiled_shapes(policy)
    global _BATCH_STATE
    _BATCH_STATE = (policy, limits, judge)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(_judged_in_fork, items, chunksize=BATCH_CHUNK)


def _judged_in_fork(item: Any) -> Any:
    assert _BATCH_STATE is not None
    policy, limits, judge = _BATCH_STATE
    return judge(policy, limits, item)


@dataclass(frozen=True)
class ClaimRecord:
    """One claim of a batch as finished text (a ``ClaimVerdict`` in JSON) and what a summary needs:
    cheap to send back from a forked worker, unlike the verdict's objects."""

    text: str
    no_violations: bool
    violated_rules: tuple[str, ...]


def claim_records(
    policy: PolicyGraph, claims: list[MappedEncounter], limits: Limits = DEFAULT_LIMITS, workers: int = 1
) -> Iterator[ClaimRecord]:
    """Judge claims already read, in order, as text records (the batch path of ``--batch``)."""
    return _fanned_out(policy, limits, claims, _claim_record, workers)


def _claim_record(policy: PolicyGraph, limits: Limits, claim: MappedEncounter) -> ClaimRecord:
    from payerkg.validation.formats.mapped import ClaimVerdict, validate_mapped

    verdict = ClaimVerdict.of(validate_mapped(policy, claim, limits))
    violated = tuple(sorted({f.rule for f in verdict.findings if f.severity == "violation" and f.rule}))
    return ClaimRecord(json.dumps(asdict(verdict)), verdict.no_violations, violated)
