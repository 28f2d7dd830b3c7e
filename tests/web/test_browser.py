"""User journeys in a real browser (Chromium) against a real service process: ask and read an
answer with its sources, follow the shared URL, compare payers and follow a cell, download the
CSV, print an answer, validate a batch and watch its progress, propose rules as an editor (as
Turtle, and from the rule form) and read a rule's revision history. Each journey leaves a
screenshot in build/browser/."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.editing.keys import KEYS
from tests.service_process import ServiceProcess
from tests.web.conftest import screenshot_path

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page

pytestmark = [pytest.mark.browser, pytest.mark.process]
TIMEOUT_MS = 60_000
"""How long a step may wait: a guard against a page that never answers, not a speed test (a dry
run or a commit behind a click took over 15 s on a busy 2-core machine)."""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def test_ask_a_question_and_read_the_answer_with_its_sources(
    service: ServiceProcess, page: Page, browser: Browser
) -> None:
    page.goto(service.url + "/")
    page.select_option("#field-payer", "medicare")
    page.fill("#field-code", "99214")
    page.fill("#field-date", "2025-05-01")
    page.select_option("#field-modality", "audio-only")
    page.select_option("#field-patient_status", "established")
    page.select_option("#field-patient_location", "home")
    page.click("button[type=submit]")
    page.wait_for_selector("#determination")
    assert page.inner_text("#answer-title") == "Determination: conditional"
    question = dict(parse_qsl(urlsplit(page.url).query))
    assert question == {
        "payer": "medicare",
        "code": "99214",
        "date": "2025-05-01",
        "modality": "audio-only",
        "patient_status": "established",
        "patient_location": "home",
    }  # the URL is the question, without the fields left empty
    sources = page.locator("table.sources tbody tr")
    assert sources.count() >= 3
    assert sources.first.locator("a.source").get_attribute("href", timeout=TIMEOUT_MS).startswith("http")  # type: ignore[union-attr]
    assert page.locator("table.conditions").inner_text().count("open") >= 2
    page.screenshot(path=screenshot_path("ask"), full_page=True)

    shared = browser.new_context()  # a colleague opens the shared link
    other = shared.new_page()
    other.goto(page.url)
    assert other.inner_text("#answer-title") == "Determination: conditional"
    assert other.input_value("#field-modality") == "audio-only"
    shared.close()


def test_compare_follow_a_cell_and_download_the_csv(service: ServiceProcess, page: Page) -> None:
    page.goto(service.url + "/compare?date=2025-06-01")
    page.select_option("#field-group", "Medicaid")
    page.click("#compare-form button[type=submit]")
    page.wait_for_url("**/compare?date=2025-06-01&group=Medicaid")  # empty fields left out
    rows = page.locator("#matrix tbody tr")
    assert rows.count() >= 2
    assert all("Medicaid" in text for text in rows.locator("th").all_inner_texts())
    page.screenshot(path=screenshot_path("compare"), full_page=True)

    with page.expect_download() as download:
        page.click("#csv-link")
    saved = download.value.path()
    with open(saved, newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0][:3] == ["payer", "payer_label", "payer_group"]
    assert len(table) == rows.count() + 1

    cell = rows.first.locator("td").first
    shown = cell.inner_text()
    cell.locator("a").click()
    page.wait_for_selector("#determination")
    assert page.inner_text("#answer-title") == f"Determination: {shown}"


def test_a_printed_answer_keeps_the_answer_and_drops_the_controls(
    service: ServiceProcess, page: Page
) -> None:
    page.goto(
        service.url + "/?payer=medicare&code=99213&date=2025-10-15&modality=audio-video"
        "&patient_location=home&rural=false&as_of=2025-10-20"
    )
    page.emulate_media(media="print")
    assert page.is_visible("#determination")
    assert page.is_visible("table.sources")
    assert page.is_visible(".print-only")  # the question's own URL, on paper
    assert page.locator("table.sources .print-url").first.is_visible()
    for hidden in ("#ask-form", "header.site", "#elsewhere"):
        assert not page.is_visible(hidden), hidden
    page.screenshot(path=screenshot_path("print"), full_page=True)
    page.emulate_media(media="screen")
    assert page.is_visible("#ask-form")


def test_see_what_changed_since_a_review(service: ServiceProcess, page: Page) -> None:
    page.goto(service.url + "/changes")
    page.fill("#field-from_date", "2024-06-01")
    page.fill("#field-to_date", "2025-06-01")
    page.select_option("#field-group", "MedicareFeeForService")
    page.click("#changes-form button[type=submit]")
    page.wait_for_selector("#date-changes")
    changed = page.locator("table.answer-changes tbody tr")
    assert changed.count() >= 1
    assert any("99442" in row for row in changed.all_inner_texts())  # deleted from CPT in 2025
    assert page.locator("table.version-events tbody tr").count() >= 1
    assert page.get_attribute("a[href='/changes.atom']", "href") == "/changes.atom"
    page.screenshot(path=screenshot_path("changes"), full_page=True)


def test_validate_a_bad_encounter_and_read_its_findings(service: ServiceProcess, page: Page) -> None:
    day = Path(__file__).resolve().parents[2] / "docs" / "examples" / "day.ndjson"
    bad = day.read_text(encoding="utf-8").splitlines()[1]  # audio-only office E/M in 2024
    page.goto(service.url + "/check")
    page.fill("#field-text", bad)
    page.click("#check-form button[value=page]")
    page.wait_for_selector("#findings")
    assert page.url == service.url + "/check"  # posted: the encounter is in no URL
    row = page.locator("table.findings tbody tr").first
    assert "does-not-conform" in row.inner_text()
    assert "lines[0].code" in row.inner_text()
    assert row.locator("a.source").count() >= 1
    page.screenshot(path=screenshot_path("validate"), full_page=True)

    page.set_input_files("#field-file", str(day))
    page.select_option("#field-format", "ndjson")
    with page.expect_download() as download:
        page.click("#check-form button[value=csv]")
    with open(download.value.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["line"] for r in rows} == {str(n) for n in range(1, 8)}


def test_an_editor_proposes_a_rule_sees_it_answered_and_an_admin_rolls_it_back(
    service: ServiceProcess, page: Page, browser: Browser
) -> None:
    rule = (Path(__file__).parents[1] / "editing" / "add-uhc-rpm-2027.ttl").read_text(encoding="utf-8")
    question = service.url + "/?payer=uhc-commercial&code=99457&date=2027-03-01"
    page.goto(question)
    assert page.inner_text("#answer-title") == "Determination: unknown"
    page.goto(service.url + "/edit")
    page.fill("#field-key", KEYS["editor"])
    page.click("#sign-in-form button")
    page.wait_for_selector("#propose-form")
    cookies = page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
        ("payerkg_editor", True, "Strict")
    ]
    page.fill("#field-rule", rule)
    page.click("#check-button")
    page.wait_for_selector("#dry-run")
    assert page.inner_text("#dry-run-title") == "Would be accepted"
    page.fill("#field-reason", "UHC covers RPM management from 2027 (browser test)")
    page.click("#submit-button")
    page.wait_for_selector("#committed")
    page.screenshot(path=screenshot_path("edit"), full_page=True)
    page.goto(question)
    assert page.inner_text("#answer-title") == "Determination: covered"

    reader = browser.new_context()  # a reader's key shows no controls
    other = reader.new_page()
    other.goto(service.url + "/edit")
    other.fill("#field-key", KEYS["reader"])
    other.click("#sign-in-form button")
    other.wait_for_selector("#no-edit")
    assert other.locator("#propose-form").count() == 0
    reader.close()

    admin = browser.new_context()
    rolling = admin.new_page()
    rolling.goto(service.url + "/edit")
    rolling.fill("#field-key", KEYS["admin"])
    rolling.click("#sign-in-form button")
    rolling.fill("#reason-2", "undo the browser test")
    rolling.click("text=Roll back 2")
    rolling.wait_for_selector("#committed")
    admin.close()
    page.goto(question)
    assert page.inner_text("#answer-title") == "Determination: unknown"


def test_an_editor_proposes_a_rule_from_the_form_reads_its_turtle_and_what_if_and_submits_it(
    service: ServiceProcess, page: Page
) -> None:
    fixture = json.loads((Path(__file__).parents[1] / "editing" / "rule-form-uhc-rpm-2027.json").read_text())
    question = service.url + "/?payer=uhc-commercial&code=99457&date=2027-03-01&modality=audio-video"
    page.goto(question)
    assert page.inner_text("#answer-title") == "Determination: unknown"
    page.goto(service.url + "/edit")
    page.fill("#field-key", KEYS["editor"])
    page.click("#sign-in-form button")
    page.click("#new-rule-link")
    page.wait_for_selector("#rule-form")
    for name, value in fixture["form"].items():
        field = f"#field-{name}"
        if page.eval_on_selector(field, "e => e.tagName") == "SELECT":
            page.select_option(field, value)
        elif value:
            page.fill(field, value)
    page.click("#preview-button")
    page.wait_for_selector("#dry-run")
    assert page.inner_text("#dry-run-title") == "Would be accepted"
    assert "rv:test-form-uhc-rpm-2027-01-01 a pk:RuleVersion" in page.inner_text("#rule-turtle")
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    assert [v["id"] for v in violations if v["impact"] in ("serious", "critical")] == []
    page.fill("#field-reason", "UHC RPM by video from 2027 (browser test of the rule form)")
    page.click("#submit-button")
    page.wait_for_selector("#committed")
    page.screenshot(path=screenshot_path("edit-form"), full_page=True)
    page.goto(question)
    assert page.inner_text("#answer-title") == "Determination: covered"


PROGRESS_SEEN = """
window.progressSeen = [];
new MutationObserver(() => {
  const lines = document.querySelectorAll("#progress li");
  if (lines.length && !document.getElementById("findings")) {
    const text = lines[lines.length - 1].textContent.trim();
    if (window.progressSeen[window.progressSeen.length - 1] !== text) window.progressSeen.push(text);
  }
}).observe(document, {childList: true, subtree: true});
"""
"""Run in each new document through the browser's protocol (the pages run no script): the
progress lines the page showed before its findings arrived."""


def test_validate_a_batch_see_its_progress_then_its_findings_and_download_them(
    service: ServiceProcess, page: Page
) -> None:
    day = (Path(__file__).resolve().parents[2] / "docs" / "examples" / "day.ndjson").read_bytes()
    lines = [line for line in day.splitlines() if line.strip()]
    batch = b"\n".join(lines * 200) + b"\n"  # 1,400 encounters, under the anonymous 1 MB limit
    page.add_init_script(PROGRESS_SEEN)
    page.goto(service.url + "/check")
    page.select_option("#field-format", "ndjson")
    upload: FilePayload = {"name": "batch.ndjson", "mimeType": "application/x-ndjson", "buffer": batch}
    page.set_input_files("#field-file", files=[upload])
    page.click("#check-form button[value=page]")
    page.wait_for_selector("#findings", timeout=60_000)
    seen = page.evaluate("window.progressSeen")
    assert seen[0] == "0 of 1400 encounters judged"  # shown before any finding arrived
    counts = [int(text.split()[0]) for text in seen]
    assert counts == sorted(counts) and counts[-1] < 1400  # counting up, all before the findings
    assert page.inner_text("#progress li:last-child").strip() == "1400 of 1400 encounters judged: done"
    assert page.locator("#progress li").count() == len(seen) + 1  # earlier lines stay, hidden
    assert not page.locator("#progress li").first.is_visible()
    assert page.inner_text("#findings-title").startswith("1400 encounters: 600 without violations")
    assert page.url == service.url + "/check"
    page.screenshot(path=screenshot_path("validate-batch"))

    page.set_input_files(
        "#field-file", str(Path(__file__).resolve().parents[2] / "docs" / "examples" / "day.ndjson")
    )
    page.select_option("#field-format", "ndjson")
    page.click("#check-form button[value=page]")
    page.wait_for_selector("#findings")
    assert page.inner_text("#progress li:last-child").endswith("7 of 7 encounters judged: done")
    with page.expect_download() as download:
        page.click("#download-csv")  # a data: link: nothing kept on the server to fetch again
    assert download.value.suggested_filename == "findings.csv"
    with open(download.value.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["line"] for r in rows} == {str(n) for n in range(1, 8)}
    with page.expect_download() as download:
        page.click("#download-ndjson")
    records = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert [json.loads(r)["line"] for r in records] == list(range(1, 8))
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    assert [v["id"] for v in violations if v["impact"] in ("serious", "critical")] == []


def test_read_a_rules_revision_history_after_an_edit(
    service: ServiceProcess, page: Page, browser: Browser
) -> None:
    page.goto(service.url + "/rule/medicare-telehealth-originating-site")
    assert page.inner_text("#no-edits").startswith("No edits since the shipped graph")
    rule = (Path(__file__).parents[1] / "editing" / "add-uhc-rtm-2027.ttl").read_text(encoding="utf-8")
    reason = "UHC covers RTM from 2027 (browser test of the rule history)"
    page.goto(service.url + "/edit")
    page.fill("#field-key", KEYS["editor"])
    page.click("#sign-in-form button")
    page.fill("#field-rule", rule)
    page.click("#check-button")
    page.wait_for_selector("#dry-run")
    page.fill("#field-reason", reason)
    page.click("#submit-button")
    page.wait_for_selector("#committed")
    number = page.inner_text("#committed h2").split()[1]  # "Revision N stored"

    page.goto(service.url + "/rule/test-uhc-rtm")
    entry = page.locator(f"#revision-{number}")
    assert entry.locator("h3").inner_text() == f"Revision {number} add"
    added = entry.locator("tr.diff-added").all_inner_texts()
    assert any("pk:effectiveStart" in row and "2027-01-01" in row for row in added)
    assert any("pk:citation" in row and "src:S68" in row for row in added)
    assert reason not in page.inner_text("#rule-revisions")  # an editor does not read why
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    assert [v["id"] for v in violations if v["impact"] in ("serious", "critical")] == []
    page.screenshot(path=screenshot_path("rule-history"), full_page=True)

    admin = browser.new_context()
    reading = admin.new_page()
    reading.goto(service.url + "/edit")
    reading.fill("#field-key", KEYS["admin"])
    reading.click("#sign-in-form button")
    reading.wait_for_selector("#propose-form")
    reading.goto(service.url + "/rule/test-uhc-rtm")
    assert reason in reading.inner_text(f"#revision-{number}")
    admin.close()


PAGES = {
    "ask": "/",
    "answer": "/?payer=medicare&code=99214&date=2025-05-01&modality=audio-only&patient_location=home",
    "form-errors": "/?payer=medicare&code=99214&date=2025-13-01&modality=smoke",
    "compare": "/compare?date=2025-06-01",
    "changes": "/changes?from_date=2024-06-01&to_date=2025-06-01&group=Medicaid",
    "code": "/code/99213?date=2025-06-01",
    "rule": "/rule/medicare-telehealth-originating-site",
    "error": "/rule/no-such-rule",
    "validate": "/check",
    "sign-in": "/edit",
}


def test_no_page_has_a_serious_or_critical_accessibility_violation(
    service: ServiceProcess, page: Page
) -> None:
    """axe-core (the copy axe-playwright-python ships) on every page: keyboard, labels, contrast,
    landmarks. Its script is evaluated through the browser's protocol, so the pages' policy,
    which runs no script, stays as it is."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    found = []
    for name, path in PAGES.items():
        page.goto(service.url + path)
        violations = axe.run(page).response["violations"]
        found += [
            f"{name}: {v['id']} ({v['impact']}): {v['help']}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
    assert found == []
