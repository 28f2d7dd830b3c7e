"""`payerkg shacl`: any data graph against any shapes graph, the W3C report out, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from rdflib import Graph, Literal
from rdflib.namespace import SH

from tests.cli.runner import run_cli

SHAPES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://example.org/> .
ex:CodeShape sh:targetSubjectsOf ex:code ;
    sh:property [ sh:path ex:code ; sh:pattern "^[0-9]{5}$" ; sh:maxCount 1 ] .
"""


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def test_conforming_data_exits_0_with_a_turtle_report(tmp_path: Path) -> None:
    shapes = write(tmp_path, "shapes.ttl", SHAPES)
    data = write(tmp_path, "data.ttl", '<https://example.org/a> <https://example.org/code> "99213" .')
    ran = run_cli("shacl", "-s", shapes, data)
    assert ran.returncode == 0, ran.stderr
    report = Graph().parse(data=ran.stdout, format="turtle")
    assert (None, SH.conforms, Literal(True)) in report


def test_a_trailing_newline_does_not_conform_exit_1(tmp_path: Path) -> None:
    shapes = write(tmp_path, "shapes.ttl", SHAPES)
    data = write(tmp_path, "data.nt", '<https://example.org/a> <https://example.org/code> "99213\\n" .\n')
    ran = run_cli("shacl", "-s", shapes, data, "-f", "text")
    assert ran.returncode == 1
    assert "Conforms: False" in ran.stdout and "PatternConstraintComponent" in ran.stdout
    as_json = run_cli("shacl", "--shapes", shapes, data, "--format", "json-ld")
    assert as_json.returncode == 1
    report = Graph().parse(data=as_json.stdout, format="json-ld")
    assert (None, SH.sourceConstraintComponent, SH.PatternConstraintComponent) in report
    assert isinstance(json.loads(as_json.stdout), list | dict)


def test_the_shapes_default_to_the_data_graph(tmp_path: Path) -> None:
    both = write(tmp_path, "both.ttl", SHAPES + 'ex:a ex:code "1", "2" .')
    ran = run_cli("shacl", both, "-f", "text")
    assert ran.returncode == 1 and "MaxCountConstraintComponent" in ran.stdout


def test_bad_input_exits_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    shapes = write(tmp_path, "shapes.ttl", SHAPES)
    broken = write(tmp_path, "broken.ttl", "<a> <b> ")
    ill_formed = write(tmp_path, "ill.ttl", SHAPES.replace("sh:maxCount 1", 'sh:maxCount "one"'))
    for args, words in (
        (("-s", shapes, str(tmp_path / "missing.ttl")), "no such file"),
        (("-s", shapes, broken), "not readable RDF"),
        (("-s", ill_formed, broken.replace("broken", "shapes")), "CodeShape"),
        (("-s", shapes, shapes, "-f", "xml"), "--format must be one of"),
    ):
        ran = run_cli("shacl", *args)
        assert ran.returncode == 2, (args, ran.stdout)
        assert words in ran.stderr and "Traceback" not in ran.stderr
