"""Headless Debian Chromium for dash_duo (its hook is imported by tests/conftest.py).

``pytest_setup_options`` is dash[testing]'s hook for the WebDriver options;
the flags needed as root in a container are set here too (dash adds
them as well) so bench/ scripts can reuse them.  Headless is forced so ``make test`` needs no
display and no ``--headless`` flag.
"""

from __future__ import annotations

import os
import shutil

from selenium.webdriver.chrome.options import Options


def chromium_path() -> str | None:
    """The Chromium binary to drive (DASH_TEST_CHROMEPATH wins)."""
    env = os.environ.get("DASH_TEST_CHROMEPATH")
    return env or shutil.which("chromium") or shutil.which("chromium-browser")


def chrome_options() -> Options:
    options = Options()
    binary = chromium_path()
    if binary:
        options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1400,1000")
    options.add_argument("--no-first-run")
    return options


def pytest_setup_options() -> Options:
    """pluggy collects the results into a list; dash uses its first element."""
    return chrome_options()
