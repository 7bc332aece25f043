"""Maps: page weight and time to first render in Chromium, full city and one district.

The coverage maps are measured twice: computed live (no stored coverage; "served" is the
first request, loading the city into memory included), then after `gridsvc coverage
refresh` stored every circle's coverage, as a deployment would run it. Render times include
the server's time for each request.

Serves the default demo city (6,702 grids) with a real gridsvc (uvicorn on a loopback
port) and opens each map in headless Debian chromium (Playwright), every request off the
loopback refused. "First render" is the time from navigation start until every grid is
on the map and the browser has painted a frame after it (two requestAnimationFrame), the
median of --runs runs. The full city's grids map is also opened from a file (no server
time) with simplified and with the stored, unsimplified geometry, to show what the
simplification buys in the browser.
Run: .venv/bin/python bench/bench_maps.py [--runs N]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

from common import bench_database_url, database_version, print_machine, timed
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from gridsvc.maps import render, service
from gridsvc.maps.basemap import RenderOptions, to_html
from gridsvc.maps.cli import copy_assets

DATABASE = "gridsvc_bench_maps"
SEED = 20240601
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = (
    ("grids, full city", "/maps/grids"),
    ("grids, one district", "/maps/grids?district=150602"),
    ("coverage, full city, euclid", "/maps/coverage?circle=living_10min&mode=euclidean"),
    ("coverage, full city, network", "/maps/coverage?circle=living_10min&mode=network"),
)
RENDERED = """async (expected) => {
    const count = () => {
        if (!window.L) { return -1; }
        const map = Object.values(window).find((value) => value instanceof L.Map);
        if (!map) { return -1; }
        let polygons = 0;
        map.eachLayer((layer) => { if (layer.feature) { polygons += 1; } });
        return polygons;
    };
    while (count() < expected) { await new Promise((resolve) => setTimeout(resolve, 5)); }
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    return performance.now();
}"""


def fresh_city() -> str:
    """A new benchmark database holding the demo city and no stored coverage; its URL."""
    from gridsvc.cluster import service as cluster_service
    from gridsvc.geodata import service as geodata_service
    from gridsvc.geodata.demo.build import build_demo_city

    cluster_service.drop_database(get_settings(), DATABASE)
    url = bench_database_url(DATABASE)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        for _ in geodata_service.load_city(session, build_demo_city(seed=SEED)):
            pass
    engine.dispose()
    return url


def start_server(url: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "GRIDSVC_DATABASE_URL": url, "GRIDSVC_MAP_TILES": "none"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gridsvc.main:app", "--port", str(port)]
        + ["--host", "127.0.0.1", "--log-level", "warning"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urlopen(f"{base}/health", timeout=2):  # noqa: S310 - loopback
                return process, base
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("the server did not start")


def render_times(browser, url: str, expected: int, runs: int) -> tuple[float, list[str]]:  # noqa: ANN001
    """Median ms to first render over ``runs`` fresh pages, and any request off the loopback."""
    outside: list[str] = []
    times = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()

        def guard(route, request) -> None:  # noqa: ANN001
            if request.url.startswith(("http://127.0.0.1", "file://", "data:")):
                route.continue_()
            else:
                outside.append(request.url)
                route.abort()

        page.route("**/*", guard)
        page.goto(url, wait_until="commit", timeout=300_000)  # live coverage takes a while
        times.append(page.evaluate(RENDERED, expected))
        context.close()
    return statistics.median(times), outside


def refresh_coverage(url: str) -> None:
    """Store every circle's coverage in the benchmark database, as a deployment would."""
    env = {**os.environ, "GRIDSVC_DATABASE_URL": url}
    gridsvc = Path(sys.executable).with_name("gridsvc")
    subprocess.run([str(gridsvc), "coverage", "refresh"], env=env, check=True, capture_output=True)


def features_on_map(body: bytes) -> int:
    """Grids and gaps on the map at start: service areas (hidden until switched on) are not."""
    return body.count(b'"type": "Feature"') - body.count(b'"properties": {"type_name": ')


def fetch(url: str) -> tuple[bytes, float]:
    with timed() as elapsed, urlopen(url) as response:  # noqa: S310 - loopback
        body = response.read()
    return body, elapsed[0]


def city_page(url: str, folder: Path, tolerance: float | None) -> tuple[Path, int]:
    """The full city's grids map written beside a copy of its assets (0: unsimplified)."""
    options = RenderOptions(static_url="static")
    engine = create_engine(url)
    with Session(engine) as session:
        grids = service.grids_frame(session, tolerance=tolerance)
        facilities = service.facilities_frame(session)
    engine.dispose()
    html = to_html(render.grids_map(grids, facilities, "city", options), options)
    copy_assets(get_settings().assets_dir, folder, html)
    path = folder / f"city-{tolerance}.html"
    path.write_text(html, encoding="utf-8")
    return path, len(grids)


def report(name: str, body: bytes, served_s: float | None, render_ms: float) -> None:
    served = f"served in {served_s:.2f} s, " if served_s is not None else ""
    print(
        f"{name:<30} {len(body) / 1e6:6.2f} MB HTML ({len(gzip.compress(body)) / 1e6:.2f} MB "
        f"gzipped), {served}first render {render_ms / 1000:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="Page loads per map (median).")
    arguments = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print_machine("bench_maps: page weight and first render in Chromium")
    url = fresh_city()
    print(f"database: {database_version(url)}; chromium: /usr/bin/chromium, 1280x800, headless")
    process, base = start_server(url)
    folder = Path(tempfile.mkdtemp(prefix="bench-maps-"))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            outside: list[str] = []
            for name, path in PAGES:
                body, served = fetch(base + path)
                expected = features_on_map(body)
                median, refused = render_times(browser, base + path, expected, arguments.runs)
                outside += refused
                report(name, body, served, median)
            with timed() as refreshed:
                refresh_coverage(url)
            print(
                f"gridsvc coverage refresh (stores every circle's coverage): {refreshed[0]:.0f} s"
            )
            for name, path in PAGES[2:]:
                body, served = fetch(base + path)
                expected = features_on_map(body)
                median, refused = render_times(browser, base + path, expected, arguments.runs)
                outside += refused
                report(name.replace("full city", "stored"), body, served, median)
            for name, tolerance in (("simplified", None), ("unsimplified", 0)):
                page, grids = city_page(url, folder, tolerance)
                median, refused = render_times(browser, page.as_uri(), grids, arguments.runs)
                outside += refused
                report(f"grids, city, {name}, file", page.read_bytes(), None, median)
            browser.close()
        print(f"requests off the loopback: {len(outside)}")
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
