"""`payerkg diff A B`: what changed between two versions of the policy graph, rule by rule."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from payerkg.cli.common import fail
from payerkg.cli.editing import ServerKeyOption, ServerOption, local_store
from payerkg.errors import InvalidParameter, PayerKGError, StoreLocked
from payerkg.graph.dataset import GRAPH_FOLDERS, load_dataset
from payerkg.settings import Settings

if TYPE_CHECKING:
    from rdflib import Graph


def graph_for(argument: str, repository: Path | None = None) -> Graph:
    """The policy graph an argument names: a folder holding ontology/, shapes/ and policies/ (like
    the repository root), or a git ref of the repository at ``repository`` (default: the working
    directory). A folder wins when a name is both.
    """
    if argument.startswith("rev:"):
        return _graph_at_revision(argument.removeprefix("rev:"))
    where = repository or Path.cwd()
    folder = where / argument
    if folder.is_dir():
        if not any((folder / name).is_dir() for name in GRAPH_FOLDERS):
            raise InvalidParameter("folder holds none of ontology/, shapes/, policies/")
        return load_dataset(folder).dataset
    return _graph_at_ref(argument, where)


def diff_command(
    before: Annotated[
        str, typer.Argument(help="A folder holding ontology/, shapes/, policies/, or a git ref")
    ],
    after: Annotated[str, typer.Argument(help="A folder or git ref to compare with")],
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    server: ServerOption = None,
    key: ServerKeyOption = None,
) -> None:
    """What changed between two versions of the policy graph: exit 0 none, 1 differences, 2 bad input.

    ``rev:N`` is revision N of the configured store (named on stderr), or with --server of a running
    service's store (both arguments then revisions)."""
    if output not in ("text", "json"):
        fail("--format must be text or json")
    if server:
        _diff_on_service(server, key, before, after, output)
        return
    from payerkg.editing.diff import diff_graphs, render_text

    graphs = []
    for argument in (before, after):
        try:
            graphs.append(graph_for(argument))
        except StoreLocked as error:
            fail(f"{argument}: {error.message}; stop it, or ask it with --server URL --key KEY")
        except PayerKGError as error:
            fail(f"{argument}: {error.message}")
    difference = diff_graphs(*graphs)
    if output == "json":
        typer.echo(json.dumps(asdict(difference.view()), indent=2, ensure_ascii=False))
    elif difference.subjects:
        typer.echo(render_text(difference))
    else:
        typer.echo("no differences", err=True)
    raise typer.Exit(1 if difference.subjects else 0)


def _graph_at_revision(number: str) -> Graph:
    """The graph at a revision of the configured store (PAYERKG_STORE...)."""
    if not number.isdigit():
        raise InvalidParameter("a revision is written rev:N with N a revision number")
    from payerkg.editing import revisions

    return revisions.graph_at(local_store(Settings()), int(number))


def _diff_on_service(server: str, key: str | None, before: str, after: str, output: str) -> None:
    """GET /diff of a running service: both arguments must be revisions (rev:N)."""
    numbers = [argument.removeprefix("rev:") for argument in (before, after)]
    if not all(a.startswith("rev:") and n.isdigit() for a, n in zip((before, after), numbers, strict=True)):
        fail("with --server both arguments are revisions of the service's store, written rev:N")
    from payerkg.client import ServiceClient

    try:
        found = ServiceClient(server, key).get("/diff", {"from": int(numbers[0]), "to": int(numbers[1])})
    except PayerKGError as error:
        fail(error.message)
    subjects = found.get("subjects") if isinstance(found, dict) else None
    if output == "json":
        typer.echo(json.dumps({k: v for k, v in found.items() if k != "text"}, indent=2, ensure_ascii=False))
    elif subjects:
        typer.echo(found.get("text", ""))
    else:
        typer.echo("no differences", err=True)
    raise typer.Exit(1 if subjects else 0)


def _graph_at_ref(ref: str, repository: Path) -> Graph:
    """Load the graph folders of one commit from a temporary copy; the working tree is not touched."""
    if ref.startswith("-"):  # never let an argument pass to git as an option
        raise InvalidParameter("neither a folder nor a git ref")
    resolved = _git(repository, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if resolved is None:
        raise InvalidParameter(f"neither a folder nor a git ref of the repository in {repository}")
    commit = resolved.decode().strip()
    # Older commits may lack a folder, and git archive refuses a path that does not exist.
    listed = _git(repository, "ls-tree", "--name-only", commit, "--", *GRAPH_FOLDERS) or b""
    folders = listed.decode().split()
    if not folders:
        raise InvalidParameter("commit holds none of ontology/, shapes/, policies/")
    archive = _git(repository, "archive", "--format=tar", commit, "--", *folders)
    if archive is None:
        raise InvalidParameter("git archive failed")
    with tempfile.TemporaryDirectory(prefix="payerkg-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        return load_dataset(Path(tmp)).dataset


def _git(repository: Path, *args: str) -> bytes | None:
    """Standard output of a git command, or None when it fails or git is missing."""
    try:
        done = subprocess.run(["git", *args], cwd=repository, capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
