"""Shared fixtures: a real headless browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium; the tests never download a browser."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless chromium for the whole session (tests using it are marked ``browser``).

    Skips when ``/usr/bin/chromium`` is missing, except under ``CI=true``,
    where a missing browser fails the test instead.
    """
    if not CHROMIUM.exists():
        msg = "chromium missing: run `apt-get install -y chromium`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
