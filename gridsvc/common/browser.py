"""Headless Chromium (Debian's), launched one way for map exports, the tests and bench/.

Playwright (the ``export`` extra) drives it; the flags suit a container without a GPU or
a sandbox and keep the browser from calling home.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str:
    """Return Debian's chromium (or ``GRIDSVC_CHROMIUM``); raise if there is none."""
    path = os.environ.get("GRIDSVC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise ValueError("no chromium found: install Debian's chromium (make test does)")
    return path


@contextmanager
def launch_chromium(extra_args: Sequence[str] = ()) -> Iterator[Any]:
    """Start Playwright and headless chromium with ``CHROMIUM_ARGS``; yield the browser.

    Parameters
    ----------
    extra_args
        Flags added after ``CHROMIUM_ARGS`` (a benchmark's host resolver rules, say).

    Raises
    ------
    ValueError
        If Playwright or chromium is missing.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ValueError("Chromium needs Playwright: pip install 'gridsvc[export]'") from None
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()
