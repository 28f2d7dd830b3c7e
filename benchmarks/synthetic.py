"""A seeded synthetic policy graph of a chosen size, written as N-Quads.

Synthetic payers each hold rules over shipped code groups and modalities, every rule with yearly
versions (one effective year each, a known-from date, one citation of a shipped source), so the
graph grows the way a real one does: more payers, more rules, more versions. The shipped files
are not included; they are seeded on top.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from payerkg.namespaces import BASE

GRAPH = f"<{BASE}graph/synthetic>"
GROUPS = (
    "office-em",
    "psychiatric-services",
    "telephone-em",
    "e-visits",
    "virtual-check-ins",
    "rpm",
    "rpm-management",
    "rtm",
    "interprofessional-consults",
    "telemedicine-audio-video",
    "telemedicine-audio-only",
    "store-and-forward-review",
)
MODALITIES = ("AudioVideo", "AudioOnly", "Asynchronous", "RemoteMonitoring")
SOURCES = ("S05", "S06", "S29", "S68", "S104")
YEARS_PER_RULE = 10
PK = f"{BASE}ontology#"
XSD_DATE = "<http://www.w3.org/2001/XMLSchema#date>"
TRIPLES_PER_VERSION = 15  # the statements _version writes, citation included
TRIPLES_PER_PAYER = 4


@dataclass(frozen=True)
class Shape:
    """How many payers, rules per payer and versions per rule make a graph of about ``triples``."""

    payers: int
    rules_per_payer: int
    years: int

    @property
    def triples(self) -> int:
        versions = self.payers * self.rules_per_payer * self.years
        return versions * TRIPLES_PER_VERSION + self.payers * (TRIPLES_PER_PAYER + self.rules_per_payer * 2)

    @staticmethod
    def of_size(triples: int) -> Shape:
        rules = len(GROUPS) * len(MODALITIES)
        per_payer = rules * YEARS_PER_RULE * TRIPLES_PER_VERSION + TRIPLES_PER_PAYER + rules * 2
        return Shape(max(1, round(triples / per_payer)), rules, YEARS_PER_RULE)


def write(shape: Shape, path: Path, seed: int = 11) -> int:
    """Write the graph to ``path``; returns the number of statements written."""
    rng = random.Random(seed)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for line in _quads(shape, rng):
            out.write(line)
            count += 1
    return count


def _iri(local: str) -> str:
    return f"<{BASE}{local}>"


def _quads(shape: Shape, rng: random.Random) -> Iterator[str]:
    rdf_type = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    notation = "<http://www.w3.org/2004/02/skos/core#notation>"
    for p in range(shape.payers):
        payer = _iri(f"payer/syn-{p}")
        yield f"{payer} {rdf_type} <{PK}Payer> {GRAPH} .\n"
        yield f'{payer} {notation} "syn-{p}" {GRAPH} .\n'
        yield f'{payer} {label} "Synthetic payer {p}" {GRAPH} .\n'
        yield f"{payer} <{PK}payerKind> <{PK}CommercialPlan> {GRAPH} .\n"
        rules = [(g, m) for g in GROUPS for m in MODALITIES][: shape.rules_per_payer]
        for group, modality in rules:
            rule_id = f"syn-{p}-{group}-{modality.lower()}"
            rule = _iri(f"rule/{rule_id}")
            yield f"{rule} {rdf_type} <{PK}CoverageRule> {GRAPH} .\n"
            yield f'{rule} {label} "Synthetic rule {rule_id}" {GRAPH} .\n'
            for year in range(2020, 2020 + shape.years):
                yield from _version(rng, payer, rule, rule_id, group, modality, year)


def _version(
    rng: random.Random, payer: str, rule: str, rule_id: str, group: str, modality: str, year: int
) -> Iterator[str]:
    version = _iri(f"rule-version/{rule_id}-{year}")
    covered = rng.random() < 0.8
    citation = f"_:c-{rule_id}-{year}"
    statements = [
        ("<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>", f"<{PK}RuleVersion>"),
        (f"<{PK}versionOf>", rule),
        ("<http://www.w3.org/2000/01/rdf-schema#label>", f'"Synthetic {rule_id} {year}"'),
        (f"<{PK}payer>", payer),
        (f"<{PK}appliesTo>", _iri(f"code-group/{group}")),
        (f"<{PK}forModality>", f"<{PK}{modality}>"),
        (f"<{PK}effectiveStart>", f'"{year}-01-01"^^{XSD_DATE}'),
        (f"<{PK}effectiveEnd>", f'"{year}-12-31"^^{XSD_DATE}'),
        (f"<{PK}knownFrom>", f'"{year - 1}-11-01"^^{XSD_DATE}'),
        (f"<{PK}determination>", f"<{PK}{'Covered' if covered else 'NotCovered'}>"),
        (f"<{PK}status>", f"<{PK}Active>"),
        (f"<{PK}evidenceLevel>", f"<{PK}SecondaryOnly>"),
        (f"<{PK}citation>", citation),
    ]
    for predicate, value in statements:
        yield f"{version} {predicate} {value} {GRAPH} .\n"
    yield f"{citation} <{PK}source> {_iri('source/' + rng.choice(SOURCES))} {GRAPH} .\n"
    yield f'{citation} <{PK}section> "synthetic" {GRAPH} .\n'
