"""Chromium, driven by Playwright, on the sandbox page of a real `empire sandbox` process.

The browser is Debian's Chromium (`.ci/run` installs it); Playwright drives it without
downloading browsers of its own. Screenshots of each step land in `out/screenshots/`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.sandbox_process import REPO, SandboxProcess

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "out" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1366, "height": 800}  # a laptop screen

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

playwright_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    process = SandboxProcess(tmp_path, tmp_path / "empire-sandbox")
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
def page(browser: Browser, sandbox: SandboxProcess) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    opened.goto(sandbox.url + "/")
    try:
        yield opened
    finally:
        context.close()
    assert not problems, f"the page reported errors: {problems}"


@pytest.fixture
def shot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """`shot("approved")` saves the screen as out/screenshots/<test>-<n>-approved.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"\W+", "-", request.node.name).strip("-")
    taken: list[Path] = []

    def take(step: str) -> Path:
        path = SHOTS / f"{test}-{len(taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path))
        taken.append(path)
        return path

    return take
