"""Playwright driving Debian's headless Chromium (/usr/bin/chromium: Playwright cannot download its
browsers here; scripts/test installs the Debian package), with axe-core (vendored) run on every page
and screenshots written to tests/ui/artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.components import missing

CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
AXE = (HERE / "vendor" / "axe.min.js").read_text()
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (the test fails in CI, and is skipped elsewhere, when it is not installed)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e .[test])")
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        missing(f"{CHROMIUM} is missing (apt-get install chromium; scripts/test does it as root)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations of the page as it is now (run outside the page's CSP,
    through the DevTools protocol, as an extension would)."""
    page.evaluate(AXE)
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
