"""The Prefect UI in a real browser (Debian's chromium, headless, driven by Playwright):
start ``snmove`` from its form in dry run, then look at the finished run's artifacts.

The screenshots land in the test's output directory (``tmp_path``); with
``SCREENSHOTS_DIR=DIR`` they are also copied there (how ``docs/`` is refreshed).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from served_api import artifacts, deployment, runs_of, wait_final
from served_helpers import SN1_NODES, noderes
from served_stack import Served

CHROMIUM = Path("/usr/bin/chromium")
#: Flags that work on these machines (no sandbox as root, no network but loopback).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_PROPERTY = "xpath=ancestor::div[contains(concat(' ', @class, ' '), ' schema-form-property ')][1]"


def _ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def browser():
    """Headless chromium with a fresh profile (Playwright's default), closed afterwards."""
    missing = None
    if not CHROMIUM.exists():
        missing = "Debian's chromium is not installed (./scripts/test installs it as root)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = missing or "playwright is not installed (pip install -e .[test])"
    if missing:
        if _ci():
            pytest.fail(f"{missing}; CI must not skip the browser test")
        pytest.skip(missing)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _field(page, label: str):
    """The form property whose label is exactly ``label``."""
    name = page.locator(
        ".schema-form-property__label", has_text=re.compile(f"^{re.escape(label)}$")
    )
    return name.locator(_PROPERTY)


def _new_run(api: str, name: str, known: set[str], timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [r for r in runs_of(api, name) if r["id"] not in known]
        if new:
            return new[0]
        time.sleep(0.3)  # polling the server for the run the form created, bounded
    raise AssertionError(f"the form created no run of {name}")


def _save(page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)
    target = os.environ.get("SCREENSHOTS_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
    return path


def test_snmove_started_from_the_ui_form_in_dry_run(
    served: Served, browser, tmp_path: Path
) -> None:
    before = noderes(SN1_NODES)
    dep = deployment(served.api, "snmove/snmove")
    known = {r["id"] for r in runs_of(served.api, "snmove/snmove")}
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)

    page.goto(f"{served.ui}/deployments/deployment/{dep['id']}/run")
    source = _field(page, "Source (Optional)")
    source.get_by_role("button", name="str").click()
    source.locator("textarea, input[type=text]").first.fill("sn1")
    dry_run = _field(page, "Dry Run (Optional)").get_by_role("switch")
    assert dry_run.get_attribute("aria-checked") == "true"  # on by default in the form
    _save(page, tmp_path / "snmove-form.png")
    # What the UI's requests got back, for the message if the form creates no run (the
    # UI's own toast only says "Something went wrong").
    refused: list[str] = []
    page.on(
        "response",
        lambda r: (
            refused.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None
        ),
    )
    page.get_by_role("button", name="Submit").click()
    try:
        # The run itself, through the API: the UI's toast may be gone (or replaced by the
        # run page) before it is looked for.
        run = _new_run(served.api, "snmove/snmove", known, timeout=60)
    except AssertionError as exc:
        _save(page, tmp_path / "after-submit.png")
        raise AssertionError(f"{exc}; the UI's failed requests: {refused}") from None
    assert run["parameters"]["request"]["source"] == "sn1"
    assert run["parameters"]["request"]["dry_run"] is True
    done = wait_final(served.api, run["id"], timeout=180)
    assert done["state"]["type"] == "COMPLETED", done["state"]["message"]
    assert noderes(SN1_NODES) == before  # a dry run changes nothing

    page.goto(f"{served.ui}/runs/flow-run/{run['id']}")
    page.locator("li.p-tab#artifacts").click()
    page.get_by_text("snmove-nodes", exact=True).first.wait_for()
    shot = _save(page, tmp_path / "snmove-run-artifacts.png")
    table = artifacts(served.api, run["id"])["snmove-nodes"]
    page.goto(f"{served.ui}/artifacts/artifact/{table['id']}")
    page.get_by_text("cn008").first.wait_for()
    _save(page, tmp_path / "snmove-nodes-table.png")
    assert shot.stat().st_size > 10_000
    print(f"screenshots in {tmp_path}")
