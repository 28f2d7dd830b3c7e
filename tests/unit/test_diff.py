"""Semantic diff: each folder in diff-cases/ holds before.ttl, after.ttl and what the diff must say
(expected.json for machines, expected.txt for people)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, URIRef

from payerkg.editing.diff import diff_graphs, render_text
from payerkg.graph.dataset import PolicyGraph, load_dataset

CASES = Path(__file__).parent / "diff-cases"
CASE_NAMES = sorted(path.name for path in CASES.iterdir() if path.is_dir())
CASE_FILES = {"before.ttl", "after.ttl", "expected.json", "expected.txt"}


def parse(path: Path) -> Graph:
    return Graph().parse(path, format="turtle")


def test_every_case_has_its_files() -> None:
    assert CASE_NAMES
    for name in CASE_NAMES:
        assert {path.name for path in (CASES / name).iterdir()} == CASE_FILES, name


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case(name: str) -> None:
    folder = CASES / name
    found = diff_graphs(parse(folder / "before.ttl"), parse(folder / "after.ttl"))
    assert asdict(found.view()) == json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert render_text(found) + "\n" == (folder / "expected.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_reversed_case_swaps_added_and_removed(name: str) -> None:
    before, after = parse(CASES / name / "before.ttl"), parse(CASES / name / "after.ttl")
    forward = asdict(diff_graphs(before, after).view())["subjects"]
    backward = asdict(diff_graphs(after, before).view())["subjects"]
    swap = {"added": "removed", "removed": "added", "changed": "changed"}
    assert sorted((s["subject"], swap[s["change"]], s["added"]) for s in forward) == sorted(
        (s["subject"], s["change"], s["removed"]) for s in backward
    )


def test_reloading_the_shipped_graph_gives_no_diff(policy: PolicyGraph, data_root: Path) -> None:
    # Hundreds of citations are blank nodes with new ids on every parse.
    assert diff_graphs(policy.dataset, load_dataset(data_root).dataset).subjects == ()


def test_a_dataset_counts_as_the_union_of_its_named_graphs() -> None:
    graph = parse(CASES / "end-date-moved" / "before.ttl")
    dataset = Dataset()  # default_union is off: triples() alone would see an empty default graph
    for number, triple in enumerate(sorted(graph, key=str)):
        dataset.graph(URIRef(f"urn:test:graph-{number % 2}")).add(triple)
    assert diff_graphs(graph, dataset).subjects == ()
    assert diff_graphs(parse(CASES / "end-date-moved" / "after.ttl"), dataset).subjects
