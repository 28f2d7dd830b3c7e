"""`payerkg shacl -s SHAPES DATA`: any data graph against any shapes graph, with the production
path (the compiled engine, pyshacl on the shapes it leaves), printing the W3C validation report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rdflib import Graph
from rdflib.util import guess_format

from payerkg.cli.common import fail

FORMATS = ("turtle", "json-ld", "text")


def read_graph(path: Path) -> Graph:
    """A graph from a file, its syntax guessed from its name (Turtle when the name says nothing)."""
    if not path.is_file():
        fail(f"{path}: no such file")
    try:
        return Graph().parse(path, format=guess_format(str(path)) or "turtle")
    except Exception as error:
        fail(f"{path}: not readable RDF ({type(error).__name__}: {error})")


def shacl_command(
    data: Annotated[Path, typer.Argument(help="The data graph (Turtle, N-Triples, JSON-LD, RDF/XML, ...)")],
    shapes: Annotated[
        Path | None, typer.Option("--shapes", "-s", help="The shapes graph; default: the data graph")
    ] = None,
    output: Annotated[str, typer.Option("--format", "-f", help="turtle, json-ld or text")] = "turtle",
) -> None:
    """Validate DATA against SHAPES and print the W3C SHACL validation report.

    Exit 0 conforms, 1 does not conform, 2 bad input (unreadable file, ill-formed shape)."""
    # The engine is imported here: other commands do not load it.
    from payerkg.validation.shacl.production import ShapesError, validate_graph
    from payerkg.validation.shacl.report import report_text

    if output not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}")
    data_graph = read_graph(data)
    shapes_graph = read_graph(shapes) if shapes is not None else data_graph
    try:
        validation = validate_graph(data_graph, shapes_graph)
    except ShapesError as error:
        fail(f"the shapes cannot be used: {error}")
    if output == "text":
        typer.echo(report_text(validation.results))
    else:
        typer.echo(validation.report().serialize(format=output))
    raise typer.Exit(0 if validation.conforms else 1)
