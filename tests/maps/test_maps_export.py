"""``gridsvc maps export``: a map as PNG and PDF through headless Chromium, offline."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

from tests.maps.conftest import ARTIFACTS


def export(database_url: str, out: Path, *arguments: str) -> subprocess.CompletedProcess:
    # A process of its own: Playwright's sync API runs one browser driver per thread.
    env = {**os.environ, "GRIDSVC_DATABASE_URL": database_url, "GRIDSVC_MAP_TILES": "none"}
    command = [sys.executable, "-m", "gridsvc.cli", "maps", "export", str(out), *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def test_export_png_and_pdf(database_url, loaded_demo_city, chromium, tmp_path: Path) -> None:
    code = loaded_demo_city.districts["code"].iloc[1]
    arguments = ["--district", code, "--circle", "living_10min", "--mode", "euclidean"]
    png = ARTIFACTS / f"export-coverage-{code}.png"
    ARTIFACTS.mkdir(exist_ok=True)
    done = export(database_url, png, *arguments, "--width", "1200", "--height", "800")
    assert done.returncode == 0, done.stderr + done.stdout
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1200, 800)
    pdf = tmp_path / "coverage.pdf"
    done = export(database_url, pdf, *arguments)
    assert done.returncode == 0, done.stderr + done.stdout
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
    refused = export(database_url, tmp_path / "map.svg", *arguments)
    assert refused.returncode == 1 and ".png or .pdf" in refused.stdout + refused.stderr
