"""Maps in Chromium: bytes before the first paint, time to the first paint and to all loaded.

Serves a real gridsvc (uvicorn on a loopback port) over a database that already holds a
city with stored coverage (by default the demo's own database ``gridsvc``, only read) and
opens each map in headless Debian chromium (Playwright), every request off the loopback
refused (by the browser's host resolver, and counted: Playwright's request routing would
turn the browser's HTTP cache off, and a warm reload would then measure no cache at all).
For each map, the median of ``--runs`` cold loads (a fresh browser context, so no cache)
and of as many warm reloads (the same context navigating to the page again):

- bytes: what crossed the wire (``transferSize`` of the page and every resource) until
  the first paint, and in all;
- first paint: from navigation start until the grids are on the screen (a drawn grid
  polygon or a loaded grid tile, then two animation frames);
- all loaded: until the last resource (tile) the page asked for within the run arrived.

``--tree`` picks the checkout whose code the server runs, so the same script measures
main's code and a branch's on the same data.
Run: .venv/bin/python bench/bench_maps.py [--runs N] [--tree DIR] [--database NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

from common import database_version, free_port, print_machine

from gridsvc.cluster.databases import database_url
from gridsvc.common.browser import chromium_path, launch_chromium
from gridsvc.config import get_settings

# Nothing off the loopback resolves: the guard below only counts such requests.
LOOPBACK_ONLY = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
PAGES = (
    ("coverage, full city, network", "/maps/coverage?circle=living_10min&mode=network"),
    ("coverage, full city, euclidean", "/maps/coverage?circle=living_10min&mode=euclidean"),
    ("coverage, district 150602", "/maps/coverage?circle=living_10min&district=150602"),
    ("scenario, district 150602", "/maps/scenario?circle=living_10min&district=150602"),
)
# Grids are painted when a GeoJSON polygon layer is on the map (folium pages draw them in
# their inline script) or a grid tile has loaded (vector-tile pages mark their container).
FIRST_PAINT = """async () => {
    const painted = () => {
        if (!window.L) { return false; }
        if (document.querySelector('[data-grid-tiles-loaded]')) { return true; }
        const map = Object.values(window).find((value) => value instanceof L.Map);
        if (!map) { return false; }
        let drawn = false;
        map.eachLayer((layer) => { if (layer.feature) { drawn = true; } });
        return drawn;
    };
    while (!painted()) { await new Promise((resolve) => setTimeout(resolve, 5)); }
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    return performance.now();
}"""
TRANSFERS = """(until) => {
    const entries = [...performance.getEntriesByType('navigation'),
                     ...performance.getEntriesByType('resource')];
    let before = 0, total = 0, last = 0;
    for (const entry of entries) {
        total += entry.transferSize;
        if (entry.responseEnd <= until) { before += entry.transferSize; }
        last = Math.max(last, entry.responseEnd);
    }
    return {before, total, last};
}"""


def start_server(url: str, tree: Path) -> tuple[subprocess.Popen, str]:
    """Uvicorn serving ``tree``'s gridsvc over ``url`` on a free loopback port."""
    port = free_port()
    env = {
        **os.environ,
        "GRIDSVC_DATABASE_URL": url,
        "GRIDSVC_MAP_TILES": "none",
        "PYTHONPATH": str(tree),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gridsvc.main:app", "--port", str(port)]
        + ["--host", "127.0.0.1", "--log-level", "warning"],
        env=env,
        cwd=tree,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urlopen(f"{base}/health", timeout=2):  # loopback
                return process, base
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("the server did not start")


def guard_page(context, outside: list[str]):  # Playwright objects
    """A page of ``context`` that records every request off the loopback (none resolves).

    Listening, not routing: a routed page has no HTTP cache (Playwright turns it off).
    """
    page = context.new_page()

    def guard(request) -> None:
        if not request.url.startswith(("http://127.0.0.1", "file://", "data:", "blob:")):
            outside.append(request.url)

    page.on("request", guard)
    page.add_init_script("performance.setResourceTimingBufferSize(100000)")
    return page


def load(page, url: str) -> dict[str, float]:
    """One navigation: bytes before first paint and in all, first paint, all loaded (ms)."""
    page.goto(url, wait_until="commit", timeout=300_000)
    first_paint = page.evaluate(FIRST_PAINT)
    page.wait_for_load_state("networkidle", timeout=300_000)
    transfers = page.evaluate(TRANSFERS, first_paint)
    return {
        "bytes_before": transfers["before"],
        "bytes_total": transfers["total"],
        "first_paint": first_paint,
        "all_loaded": max(first_paint, transfers["last"]),
    }


def measure(browser, url: str, runs: int, outside: list[str]) -> tuple[dict, dict]:
    """Medians of ``runs`` cold loads and of as many warm reloads of ``url``."""
    cold, warm = [], []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = guard_page(context, outside)
        cold.append(load(page, url))
        warm.append(load(page, url))
        context.close()

    def median(loads: list[dict]) -> dict:
        return {key: statistics.median(item[key] for item in loads) for key in loads[0]}

    return median(cold), median(warm)


def report(name: str, figures: dict) -> None:
    print(
        f"{name:<38} {figures['bytes_before'] / 1e6:6.2f} MB before first paint "
        f"({figures['bytes_total'] / 1e6:.2f} MB in all), first paint "
        f"{figures['first_paint'] / 1000:5.2f} s, all loaded {figures['all_loaded'] / 1000:5.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="Cold loads per map (median).")
    parser.add_argument(
        "--tree",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="Checkout whose gridsvc the server runs (default: this one).",
    )
    parser.add_argument(
        "--database", default="gridsvc", help="Database with a city and stored coverage."
    )
    arguments = parser.parse_args()
    print_machine("bench_maps: bytes and time to first paint in Chromium")
    url = database_url(get_settings(), arguments.database)
    tree = arguments.tree.resolve()
    commit = subprocess.run(
        ["git", "-C", str(tree), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()
    print(f"database: {arguments.database}, {database_version(url)}")
    print(f"code: {tree} at {commit[:72]}")
    print(f"chromium: {chromium_path()}, 1280x800, headless; medians of {arguments.runs} runs")
    process, base = start_server(url, tree)
    outside: list[str] = []
    try:
        with launch_chromium(LOOPBACK_ONLY) as browser:
            for name, path in PAGES:
                cold, warm = measure(browser, base + path, arguments.runs, outside)
                report(name, cold)
                report("  warm reload", warm)
        print(f"requests off the loopback: {len(outside)}")
    finally:
        process.terminate()
        process.wait(timeout=20)


if __name__ == "__main__":
    main()
