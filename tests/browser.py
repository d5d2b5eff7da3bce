"""Shared set-up of the browser tests: Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps trying hosts this closed
# network refuses; as root it needs --no-sandbox.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_available() -> bool:
    return (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)) or bool(shutil.which("chromium"))


def require_chromium() -> None:
    """Skip (laptop) or fail (CI) when Debian's Chromium is missing."""
    if chromium_available():
        return
    message = f"Debian Chromium not found at {CHROMIUM} (apt-get install chromium, or make system-deps)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one test module (Playwright's sync API)."""
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
