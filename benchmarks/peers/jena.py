"""Apache Jena SHACL (Debian's ``libapache-jena-java``) through the harness JenaShacl.java:
compiled here with javac against the jars of ``/usr/share/java``, run once per round.

A machine without Java or Jena gets a ``Skipped`` with the reason, and the other engines run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.peers.runs import Mode, Run

HARNESS = Path(__file__).with_name("JenaShacl.java")
JAVA_LIB = Path("/usr/share/java")
# The Jena modules the harness uses, then the Debian package's dependencies that they load when
# they start (RIOT registers the Thrift format; file reading opens compressed streams).
JARS = (
    "jena-shacl",
    "jena-arq",
    "jena-core",
    "jena-base",
    "jena-iri",
    "commons-lang3",
    "commons-compress",
    "commons-io",
    "commons-codec",
    "guava",
    "thrift",
    "slf4j-api",
    "slf4j-nop",  # no "no logger bound" warnings on stderr
)
# Debian's jena-core relocates the Xerces classes it bundles to ``xerces.*`` but leaves their
# message files under ``org/apache/jena/ext/xerces/``: without a copy where the classes look,
# XSD datatypes (and so Jena itself) fail to initialise with "internal error".
XERCES_MESSAGES = "org/apache/jena/ext/xerces/"


@dataclass(frozen=True)
class Skipped:
    reason: str


@dataclass(frozen=True)
class Harness:
    classpath: str


def build(out: Path, java_lib: Path = JAVA_LIB) -> Harness | Skipped:
    """Compile the harness into ``out`` (with the message files Jena needs), or say why not."""
    for tool in ("java", "javac"):
        if shutil.which(tool) is None:
            return Skipped(f"no `{tool}` on PATH: install a JDK (Debian: openjdk-17-jdk-headless)")
    missing = [name for name in JARS if not (java_lib / f"{name}.jar").exists()]
    if missing:
        return Skipped(
            f"no {', '.join(missing)} in {java_lib}: install Debian's libapache-jena-java "
            "(`apt-get install -y --no-install-recommends libapache-jena-java`)"
        )
    jars = [str(java_lib / f"{name}.jar") for name in JARS]
    classes = out / "classes"
    classes.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(java_lib / "jena-core.jar") as jar:
        for name in jar.namelist():
            if name.startswith(XERCES_MESSAGES) and name.endswith(".properties"):
                target = classes / "xerces" / name.removeprefix(XERCES_MESSAGES)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jar.read(name))
    classpath = ":".join([str(classes), *jars])
    compiled = subprocess.run(
        ["javac", "-d", str(classes), "-cp", classpath, str(HARNESS)],
        capture_output=True,
        text=True,
        check=False,
    )
    if compiled.returncode != 0:
        return Skipped(f"javac could not compile {HARNESS.name}: {compiled.stderr.strip()[-1000:]}")
    return Harness(classpath)


def run(harness: Harness, shapes: Path, folder: Path, warmup: int) -> list[Run] | Skipped:
    """One JVM: the shapes parsed once, ``warmup`` untimed validations, then every Turtle file of
    ``folder`` one per call and as one batch (timed inside the JVM)."""
    done = subprocess.run(
        ["java", "-cp", harness.classpath, "JenaShacl", str(shapes), str(folder), str(warmup)],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        return Skipped(f"the Jena harness failed ({done.returncode}): {done.stderr.strip()[-1000:]}")
    return read_output(done.stdout)


def read_output(text: str) -> list[Run] | Skipped:
    """The harness's JSON line as runs (per call, then batch), or why it cannot be read.

    >>> mode = '{"count": 2, "seconds": 0.25, "flagged": [0, 1], "violating": [1]}'
    >>> read_output(f'{{"version": "4.5.0", "per_call": {mode}, "batch": {mode}}}')[1].rate
    8.0
    >>> read_output("")
    Skipped(reason='the Jena harness printed no result')
    """
    try:
        document = json.loads(text)
        modes: list[tuple[Mode, str]] = [("per call", "per_call"), ("batch", "batch")]
        return [
            Run(
                f"Jena SHACL {document['version']}",
                mode,
                int(document[key]["count"]),
                float(document[key]["seconds"]),
                frozenset(int(i) for i in document[key]["flagged"]),
                frozenset(int(i) for i in document[key]["violating"]),
            )
            for mode, key in modes
        ]
    except (ValueError, KeyError, TypeError):
        return Skipped(
            "the Jena harness printed no result" if not text.strip() else f"unreadable: {text[:200]}"
        )
