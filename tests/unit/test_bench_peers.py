"""`make bench-peers`' plumbing: the exported files every engine reads, and the Jena rows skipped
with a reason (never an exception) when Java or Jena is missing or the harness prints nothing."""

from __future__ import annotations

from pathlib import Path

from benchmarks.peers import jena
from benchmarks.peers.runs import export
from rdflib import Graph, URIRef

from payerkg.graph.dataset import PolicyGraph
from payerkg.namespaces import PK


def test_export_writes_turtle_that_parses_back_to_the_encounters_and_shapes(
    policy: PolicyGraph, tmp_path: Path
) -> None:
    exported = export(policy, tmp_path, 3, seed=13)
    assert [p.name for p in exported.encounters] == ["00000.ttl", "00001.ttl", "00002.ttl"]
    for number, path in enumerate(exported.encounters):
        graph = Graph().parse(path, format="turtle")
        assert graph.value(URIRef(f"urn:payerkg:encounter:bench-{number}"), PK.encounterPayer) is not None
    assert len(Graph().parse(exported.shapes, format="turtle")) > 1000


def test_jena_is_skipped_with_the_package_to_install_when_its_jars_are_missing(tmp_path: Path) -> None:
    built = jena.build(tmp_path / "build", java_lib=tmp_path)
    assert isinstance(built, jena.Skipped)
    assert "libapache-jena-java" in built.reason or "JDK" in built.reason


def test_the_harness_output_is_read_or_skipped() -> None:
    mode = '{"count": 4, "seconds": 2.0, "flagged": [0, 3], "violating": [3]}'
    runs = jena.read_output(f'{{"version": "4.5.0", "per_call": {mode}, "batch": {mode}}}')
    assert isinstance(runs, list)
    per_call, batch = runs
    assert (per_call.engine, per_call.mode, batch.mode) == ("Jena SHACL 4.5.0", "per call", "batch")
    assert (batch.rate, batch.flagged, batch.violating) == (2.0, frozenset({0, 3}), frozenset({3}))
    assert jena.read_output("") == jena.Skipped("the Jena harness printed no result")
    assert isinstance(jena.read_output('{"per_call": {}}'), jena.Skipped)
