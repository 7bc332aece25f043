"""The headless Chromium that prints maps and bulletins: Debian's, found once, started alike."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str:
    """Return Debian's chromium (or ``GRIDSVC_CHROMIUM``); raise if there is none."""
    path = os.environ.get("GRIDSVC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise ValueError("no chromium to export with: install Debian's chromium (make test does)")
    return path
