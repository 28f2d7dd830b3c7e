"""Load the ontology, shapes and policy files into one rdflib Dataset, one named graph per file."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

from rdflib import Dataset, Graph, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax

from payerkg.errors import DataFileError
from payerkg.namespaces import FILE_GRAPH, PREFIXES

T = TypeVar("T")

GRAPH_FOLDERS = ("ontology", "shapes", "policies")
CASE_FOLDER = "cases"


def default_data_root() -> Path:
    """The folder holding ontology/, shapes/ and policies/.

    An installed wheel carries them in ``payerkg/data``; a source checkout has them at its top.
    """
    packaged = Path(str(resources.files("payerkg"))) / "data"
    if (packaged / "ontology").is_dir():
        return packaged
    return Path(__file__).resolve().parents[3]


def graph_files(root: Path) -> list[Path]:
    """Every Turtle file of the graph under ``root``, in a stable order; test cases excluded."""
    files: list[Path] = []
    for folder in GRAPH_FOLDERS:
        files.extend(
            path
            for path in sorted((root / folder).rglob("*.ttl"))
            if CASE_FOLDER not in path.relative_to(root).parts
        )
    return files


def parse_turtle(path: Path, label: str | None = None) -> tuple[Graph, bytes]:
    """Parse one Turtle file, returning the graph and the bytes read.

    A syntax error becomes a DataFileError with file and line.
    """
    name = label or str(path)
    try:
        content = path.read_bytes()
        text = content.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(name, f"cannot read file ({exc.__class__.__name__})") from exc
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=path.resolve().as_uri())
    except BadSyntax as exc:
        line = text[: exc._i].count("\n") + 1  # BadSyntax keeps the character offset only
        raise DataFileError(name, f"Turtle syntax error: {exc._why}", line=line) from exc
    except Exception as exc:  # rdflib raises several unrelated types for bad input
        raise DataFileError(name, f"Turtle syntax error: {exc}") from exc
    return graph, content


@dataclass
class PolicyGraph:
    """The loaded graph: the dataset, where each named graph came from, and its revision."""

    dataset: Dataset
    files: dict[URIRef, str] = field(default_factory=dict)
    revision: str = ""
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)
    # Re-entrant: one derived view may be built from another (compiled shapes from shapes).
    _memo_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """A derived read-only view of this graph (vocabularies, term caches), built once."""
        with self._memo_lock:
            if key not in self._memo:
                self._memo[key] = build()
            return cast(T, self._memo[key])

    def files_describing(self, node: URIRef) -> Iterator[str]:
        """The files that hold statements about ``node``."""
        seen = {context for _, _, _, context in self.dataset.quads((node, None, None, None))}
        for identifier in seen:
            if isinstance(identifier, URIRef) and identifier in self.files:
                yield self.files[identifier]


def load_dataset(root: Path | None = None, extra: Iterable[Path] = ()) -> PolicyGraph:
    """Load every graph file under ``root`` (plus ``extra`` files) into one Dataset.

    Each file is parsed once into its own named graph; queries see the union.
    """
    root = root or default_data_root()
    dataset = Dataset(default_union=True)
    for prefix, namespace in PREFIXES.items():
        dataset.bind(prefix, namespace)
    policy = PolicyGraph(dataset)
    digest = hashlib.sha256()
    for path in [*graph_files(root), *extra]:
        relpath = _relative(path, root)
        parsed, content = parse_turtle(path, relpath)
        identifier = FILE_GRAPH[relpath]
        named = dataset.graph(identifier)
        named += parsed
        policy.files[identifier] = relpath
        digest.update(relpath.encode())
        digest.update(content)
    policy.revision = digest.hexdigest()[:12]
    return policy


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
