"""Commands for the store, its audit log, API keys and what-if checks of a proposed rule."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from payerkg import key_file
from payerkg.access import ROLES, key_digest
from payerkg.cli.common import current_policy, fail
from payerkg.errors import EditRefused, InvalidParameter, PayerKGError, StoreError, StoreLocked
from payerkg.settings import Settings

# Revisions, the editing service and the HTTP client are imported by the commands that use them.
if TYPE_CHECKING:
    from payerkg.stores import Store
    from payerkg.validation.encounter import Encounter

store_app = typer.Typer(help="The configured store (PAYERKG_STORE): seed it, show its head.")
audit_app = typer.Typer(help="The audit log of accepted changes.")
key_app = typer.Typer(help="API keys for the service.")
T = TypeVar("T")


@store_app.command("seed")
def store_seed() -> None:
    """Load the shipped policy files into an empty store as revision 1 (once, before replicas start)."""
    from payerkg.editing import revisions

    settings = Settings()
    head = _on_store(lambda store: revisions.seed(store, settings.data_dir))
    typer.echo(f"seeded revision {head.number} ({head.hash[:12]})")


@store_app.command("info")
def store_info() -> None:
    """The store's newest revision."""
    from payerkg.editing import revisions

    head = _on_store(revisions.head)
    if head is None:
        fail("the store holds no revision yet; run `payerkg store seed`")
    typer.echo(json.dumps({"revision": head.number, "record_hash": head.hash}))


@store_app.command("index")
def store_index() -> None:
    """Build the store's local version index now, in the cache folder (a service builds it in the
    background when it starts without one): answers then read a payer's rules for a code from it
    rather than from the store (docs/deployment.md)."""
    from payerkg.services import local_index

    settings = Settings()

    def build(store: Store) -> local_index.BuiltIndex:
        try:
            return local_index.build_now(store, settings)
        except OSError as error:
            raise StoreError(f"the index could not be written: {error.strerror or error}") from None

    built = _on_store(build)
    typer.echo(f"indexed revision {built.revision} in {built.seconds:.1f} s: {built.path}")


ServerOption = Annotated[
    str | None,
    typer.Option("--server", help="A running service's URL: ask it rather than open a store here"),
]
ServerKeyOption = Annotated[
    str | None,
    typer.Option("--key", envvar="PAYERKG_KEY", help="The API key for --server (or PAYERKG_KEY)"),
]


@audit_app.command("verify")
def audit_verify(server: ServerOption = None, key: ServerKeyOption = None) -> None:
    """Recompute the audit log's hash chain: exit 0 intact, 1 tampered or broken, 2 when no store
    could be read. With --server (an admin key) the running service checks its own store."""
    from payerkg.client import ServiceClient

    if server:
        answer = _ask(lambda: ServiceClient(server, key).get("/audit/verify"))
        problems = [str(p) for p in answer.get("problems", [])] if isinstance(answer, dict) else []
        where = f"the service at {server}"
    else:
        problems = _on_store(_verified)
        where = describe_store(Settings())
    for problem in problems:
        typer.echo(problem)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"audit log intact ({where})", err=True)


def _verified(store: Store) -> list[str]:
    from payerkg.editing import revisions

    if revisions.head(store) is None:
        raise StoreError("the store holds no revision, so no audit log to verify")
    return revisions.verify(store)


@audit_app.command("log")
def audit_log(server: ServerOption = None, key: ServerKeyOption = None) -> None:
    """Every accepted change, oldest first, one JSON object a line (--server: an admin key)."""
    from payerkg.client import ServiceClient
    from payerkg.editing import revisions

    if server:
        records = _ask(lambda: ServiceClient(server, key).get("/audit"))
        for record in records if isinstance(records, list) else []:
            typer.echo(json.dumps(record))
        return
    for stored in _on_store(revisions.log):
        typer.echo(json.dumps(asdict(stored.view())))


KeyFileOption = Annotated[
    Path | None,
    typer.Option("--key-file", help="The key file the service watches; default: PAYERKG_KEY_FILE"),
]


@key_app.command("new")
def key_new(
    role: Annotated[str, typer.Option(help="reader, integrator, editor or admin")],
    name: Annotated[str, typer.Option(help="Who holds the key; the audit log records it")],
    key_file_path: KeyFileOption = None,
) -> None:
    """Make a key and print it (give it to its holder). With a key file (PAYERKG_KEY_FILE or
    --key-file) its digest is added there and a running service admits it at once; without one,
    the PAYERKG_API_KEYS entry is printed for the settings (read at start)."""
    path = key_file_path or Settings().key_file
    if path is None:
        if role not in ROLES:
            fail("--role must be reader, integrator, editor or admin")
        if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            fail("--name must be letters, digits, dots, hyphens and underscores")
        key = secrets.token_urlsafe(32)
        typer.echo(f"key: {key}")
        typer.echo(f"PAYERKG_API_KEYS entry: {json.dumps({key_digest(key): f'{role}:{name}'})}")
        typer.echo(
            "no key file configured: put the entry in PAYERKG_API_KEYS and restart, or set "
            "PAYERKG_KEY_FILE so that keys work without a restart",
            err=True,
        )
        return
    try:
        key = key_file.add_key(path, role, name, datetime.now(UTC))
    except PayerKGError as error:
        fail(f"--{error.pointer}: {error.message}" if error.pointer else error.message)
    typer.echo(f"key: {key}")
    typer.echo(f"added {role} key for {name} to {path}; a service watching it admits it at once", err=True)


@key_app.command("list")
def key_list(key_file_path: KeyFileOption = None) -> None:
    """The keys in the key file (name, role, when made, digest prefix) and in PAYERKG_API_KEYS."""
    settings = Settings()
    path = key_file_path or settings.key_file
    try:
        filed = key_file.read_keys(path) if path else []
    except PayerKGError as error:
        fail(error.message)
    for entry in filed:
        typer.echo(f"{entry.name}\t{entry.role}\t{entry.created}\t{entry.digest[:12]}\t{path}")
    for digest, value in settings.api_keys.items():
        role, _, name = value.partition(":")
        typer.echo(f"{name or role}\t{role}\t-\t{digest[:12]}\tPAYERKG_API_KEYS")
    if path is None:
        typer.echo("no key file configured (PAYERKG_KEY_FILE)", err=True)


@key_app.command("revoke")
def key_revoke(
    name: Annotated[str, typer.Option(help="The holder whose key to revoke")],
    key_file_path: KeyFileOption = None,
) -> None:
    """Remove a key from the key file; a service watching it refuses the key from the next request."""
    settings = Settings()
    path = key_file_path or settings.key_file
    if path is None:
        fail("no key file configured: set PAYERKG_KEY_FILE or pass --key-file")
    try:
        entry = key_file.revoke_key(path, name)
    except PayerKGError as error:
        if any(value.partition(":")[2] == name for value in settings.api_keys.values()):
            fail("this key is in PAYERKG_API_KEYS: remove it there and restart the service")
        fail(f"--{error.pointer}: {error.message}" if error.pointer else error.message)
    typer.echo(f"revoked {entry.role} key of {entry.name} ({entry.digest[:12]}) in {path}")


def what_if_command(
    rule_file: Annotated[Path, typer.Argument(help="A Turtle file with the proposed rule versions")],
    encounters: Annotated[
        Path | None, typer.Option(help="NDJSON, one encounter a line; default: the cases beside the rules")
    ] = None,
    questions: Annotated[
        Path | None,
        typer.Option(help="Coverage questions as in cases/coverage.json; default: the cases beside rules"),
    ] = None,
    supersedes: Annotated[
        bool, typer.Option(help="Let the new versions revise those they disagree with")
    ] = False,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    server: ServerOption = None,
    key: ServerKeyOption = None,
) -> None:
    """Check a proposed rule and show which encounters and coverage answers would change verdict,
    against the configured store (named on stderr) or, with --server, a running service's graph.

    Exit 0 when the change would be accepted, 1 when a check refuses it, 2 on bad input."""
    if output not in ("text", "json"):
        fail("--format must be text or json")
    try:
        text = rule_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {rule_file} ({error.__class__.__name__})")
    if server:
        _what_if_on_service(server, key, text, encounters, questions, supersedes, output)
        return
    from payerkg.editing.what_if import questions_from_cases
    from payerkg.services import editing

    settings = Settings()
    typer.echo(f"checking against {describe_store(settings)}", err=True)
    try:
        samples = _read_encounters(encounters) if encounters else None
        asked = questions_from_cases(_read_json(questions)) if questions else None
        report = editing.dry_run(current_policy(settings), text, supersedes, samples, asked)
    except EditRefused as error:
        for problem in error.problems:
            typer.echo(f"refused: {problem}")
        fail(error.message)
    except PayerKGError as error:
        fail(_with_hint(error))
    if output == "json":
        typer.echo(json.dumps(asdict(report), indent=2))
    else:
        for line in [*report.problems, *report.conflicts]:
            typer.echo(f"refused: {line}")
        for line in report.warnings:
            typer.echo(f"warning: {line}")
        for change in report.changes:
            typer.echo(f"{change.kind} {change.id}: {change.before} -> {change.after}")
        typer.echo(f"{len(report.changes)} verdict(s) would change", err=True)
    if not report.would_be_accepted:
        raise typer.Exit(1)


def _what_if_on_service(
    server: str,
    key: str | None,
    text: str,
    encounters: Path | None,
    questions: Path | None,
    supersedes: bool,
    output: str,
) -> None:
    """The same check by the running service (POST /rules/dry-run, an editor key)."""
    from payerkg.client import ServiceClient

    change: dict[str, object] = {
        "rule": text,
        "reason": "dry run",
        "base_revision": 1,
        "supersedes": supersedes,
    }
    if encounters:
        try:
            change["encounters"] = [json.loads(line) for line in _read_lines(encounters) if line.strip()]
        except ValueError:
            fail(f"{encounters}: not one JSON encounter a line")
    if questions:
        change["questions"] = _read_json(questions)
    report = _ask(lambda: ServiceClient(server, key).post("/rules/dry-run", change))
    if not isinstance(report, dict):
        fail(f"the service at {server} answered something other than a dry-run report")
    if output == "json":
        typer.echo(json.dumps(report, indent=2))
    else:
        for line in [*report.get("problems", []), *report.get("conflicts", [])]:
            typer.echo(f"refused: {line}")
        for line in report.get("warnings", []):
            typer.echo(f"warning: {line}")
        for change_record in report.get("changes", []):
            typer.echo(
                f"{change_record.get('kind')} {change_record.get('id')}: "
                f"{change_record.get('before')} -> {change_record.get('after')}"
            )
        typer.echo(
            f"{len(report.get('changes', []))} verdict(s) would change (the service at {server}, "
            f"revision {report.get('base_revision')})",
            err=True,
        )
    if not report.get("would_be_accepted"):
        raise typer.Exit(1)


def describe_store(settings: Settings) -> str:
    """Which store a command reads, in words for its user."""
    if settings.store == "oxigraph":
        return f"the Oxigraph store at {settings.store_path} (PAYERKG_STORE_PATH)"
    if settings.store == "remote":
        return f"the SPARQL store at {settings.store_query_url} (PAYERKG_STORE_QUERY_URL)"
    return "the shipped policy files in this process (PAYERKG_STORE=memory: a service's edits are not seen)"


def local_store(settings: Settings) -> Store:
    """The configured store, opened here and named on stderr. Refused for the in-memory store:
    a service's lives only inside that service, and a new one here would be empty."""
    if settings.store == "memory":
        raise InvalidParameter(
            "PAYERKG_STORE is memory: a running service's store lives only inside that service, and "
            "this command would open a new, empty one. Ask the service (--server URL with a key in "
            "--key or PAYERKG_KEY), or set PAYERKG_STORE=oxigraph (with PAYERKG_STORE_PATH) or remote"
        )
    typer.echo(f"reading {describe_store(settings)}; --server URL asks a running service", err=True)
    return settings.open_store()


def _on_store(read: Callable[[Store], T]) -> T:
    """``read`` applied to the configured store; a store error ends the command (exit 2)."""
    try:
        return read(local_store(Settings()))
    except PayerKGError as error:
        fail(_with_hint(error))


def _with_hint(error: PayerKGError) -> str:
    if isinstance(error, StoreLocked):
        return f"{error.message}; stop it, or ask it with --server URL --key KEY"
    return error.message


def _ask(call: Callable[[], T]) -> T:
    """A request to a running service; an error it answers, or none at all, ends the command (exit 2)."""
    try:
        return call()
    except PayerKGError as error:
        fail(error.message)


def _read_lines(path: Path) -> list[bytes]:
    try:
        return path.read_bytes().splitlines()
    except OSError as error:
        fail(f"cannot read {path} ({error.__class__.__name__})")


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        fail(f"cannot read {path} ({error.__class__.__name__})")


def _read_encounters(path: Path) -> list[Encounter]:
    from payerkg.validation.encounter import parse_encounter

    try:
        lines = path.read_bytes().splitlines()
    except OSError as error:
        fail(f"cannot read {path} ({error.__class__.__name__})")
    found = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                found.append(parse_encounter(line, "application/json"))
            except PayerKGError as error:
                fail(f"{path}:{number}: {error.message}")
    return found
