"""`payerkg diff A B` on folders and git refs: exit 0 no differences, 1 differences, 2 bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from payerkg.graph.dataset import GRAPH_FOLDERS
from tests.cli.runner import Ran, run_cli

EDITED = "policies/medicare/telehealth-location.ttl"
OLD_END = 'pk:effectiveEnd "2025-09-30"^^xsd:date'
NEW_END = 'pk:effectiveEnd "2025-10-31"^^xsd:date'
MOVED = (
    "rule version rv:medicare-telehealth-waiver-pl119-4 (Medicare fee-for-service (Part B), "
    "grp:office-em, grp:telephone-em): pk:effectiveEnd 2025-09-30 → 2025-10-31"
)


def run_diff(*args: str, cwd: Path) -> Ran:
    """`payerkg diff` in this process, run from ``cwd`` (it reads git refs of the working folder)."""
    before = Path.cwd()
    os.chdir(cwd)
    try:
        return run_cli("diff", *args)
    finally:
        os.chdir(before)


def copy_graph(source: Path, target: Path) -> Path:
    for folder in GRAPH_FOLDERS:
        shutil.copytree(source / folder, target / folder)
    return target


def move_end_date(root: Path) -> None:
    path = root / EDITED
    text = path.read_text(encoding="utf-8")
    assert text.count(OLD_END) == 1
    path.write_text(text.replace(OLD_END, NEW_END), encoding="utf-8")


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]
    done = subprocess.run(["git", *identity, *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """A git repository of the shipped graph: HEAD~1 as shipped, HEAD with one end date moved."""
    root = copy_graph(data_root, tmp_path_factory.mktemp("repo"))
    git(root, "init", "-q")
    git(root, "add", *GRAPH_FOLDERS)
    git(root, "commit", "-qm", "as shipped")
    move_end_date(root)
    git(root, "commit", "-qam", "end date moved")
    return root


def test_same_folder_twice_exits_0(repo: Path) -> None:
    result = run_diff(str(repo), ".", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "no differences" in result.stderr


def test_edited_folder_copy_exits_1_and_names_the_moved_date(repo: Path, tmp_path: Path) -> None:
    edited = copy_graph(repo, tmp_path / "edited")
    (edited / EDITED).write_text((edited / EDITED).read_text().replace(NEW_END, OLD_END))
    result = run_diff(str(edited), str(repo), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0] == MOVED
    assert result.stdout.splitlines()[-1] == "1 subject(s) differ: 1 rule version changed"


def test_git_refs_compare_commits(repo: Path) -> None:
    result = run_diff("HEAD~1", "HEAD", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert MOVED in result.stdout.splitlines()


def test_git_ref_against_the_working_folder(repo: Path) -> None:
    assert run_diff("HEAD", ".", cwd=repo).returncode == 0
    result = run_diff("HEAD~1", ".", "--format", "json", cwd=repo)
    assert result.returncode == 1, result.stderr
    (subject,) = json.loads(result.stdout)["subjects"]
    assert subject["subject"] == "rv:medicare-telehealth-waiver-pl119-4"
    assert subject["changed"] == [
        {
            "predicate": "pk:effectiveEnd",
            "before": '"2025-09-30"^^xsd:date',
            "after": '"2025-10-31"^^xsd:date',
        }
    ]


def test_reading_a_ref_leaves_the_working_tree_alone(repo: Path) -> None:
    run_diff("HEAD~1", "HEAD", cwd=repo)
    assert git(repo, "status", "--porcelain") == ""
    assert NEW_END in (repo / EDITED).read_text()


@pytest.mark.parametrize(
    "before,fragment",
    [
        ("no-such-ref", "no-such-ref: neither a folder nor a git ref"),
        ("missing/folder", "missing/folder: neither a folder nor a git ref"),
        ("--output=escape", "--output=escape: neither a folder nor a git ref"),
        ("policies", "policies: folder holds none of ontology/, shapes/, policies/"),
    ],
)
def test_bad_argument_exits_2(repo: Path, before: str, fragment: str) -> None:
    result = run_diff("--", before, "HEAD", cwd=repo)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_turtle_exits_2_with_file_and_line(repo: Path, tmp_path: Path) -> None:
    broken = copy_graph(repo, tmp_path / "broken")
    (broken / "policies" / "broken.ttl").write_text(
        "@prefix pk: <https://w3id.org/payerkg/ontology#> .\npk:a pk:b\n"
    )
    result = run_diff("HEAD", str(broken), cwd=repo)
    assert result.returncode == 2
    assert f"{broken}: policies/broken.ttl:" in result.stderr
    assert "Turtle syntax error" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_format_exits_2(repo: Path) -> None:
    result = run_diff("HEAD", "HEAD", "--format", "yaml", cwd=repo)
    assert result.returncode == 2
    assert "--format must be text or json" in result.stderr
