"""OGC API at /ogc on the demo city: items per second through every page, tile latency.

Reads the configured database (the demo city's, read-only; build it with ``make demo``).
A uvicorn server (one worker, 127.0.0.1) serves it.

- Items: ``/ogc/collections/grids/items?limit=1000`` followed through every ``next`` link,
  three times; items/s and MB/s.
- Tiles: at zooms 8-15, the tiles holding the representative points of up to 150 grids
  (fixed seed) of the reference map (``/ogc/tiles/...``) and of a coverage layer. Cold: the
  first request of each tile on a fresh server (cache empty), one at a time, p50/p99;
  cached: the same again, one at a time; and under load: Debian's ``wrk`` (2 threads, 8
  connections, 10 s) over the same cached tiles, with its p50/p99 and requests/s.

Run: .venv/bin/python bench/bench_ogc.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from common import free_port, print_machine, uvicorn_command
from sqlalchemy import create_engine, text

from gridsvc.db import resolve_database_url
from gridsvc.geodata.demo import DEFAULT_DEMO_SEED

ROOT = Path(__file__).resolve().parent.parent
ZOOMS = range(8, 16)
SAMPLE_GRIDS = 150
SEED = DEFAULT_DEMO_SEED
REFERENCE = "/ogc/tiles/WebMercatorQuad"
COVERAGE = "/ogc/collections/coverage-living_10min-network/tiles/WebMercatorQuad"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def sample_points(url: str) -> list[tuple[float, float]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids"
                " WHERE valid_to IS NULL ORDER BY code) AS g"
            )
        ).all()
    engine.dispose()
    return random.Random(SEED).sample([(float(x), float(y)) for x, y in rows], SAMPLE_GRIDS)


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = uvicorn_command(port)
    process = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/ogc", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("the server did not start")


def items_rate(base: str) -> None:
    for run in range(3):
        url: str | None = f"{base}/ogc/collections/grids/items?limit=1000"
        items, size, pages = 0, 0, 0
        started = time.perf_counter()
        with httpx.Client(timeout=120) as client:
            while url:
                answer = client.get(url)
                answer.raise_for_status()
                page = answer.json()
                items += len(page["features"])
                size += len(answer.content)
                pages += 1
                url = next((x["href"] for x in page["links"] if x["rel"] == "next"), None)
        seconds = time.perf_counter() - started
        print(
            f"items run {run + 1}: {items} grids in {pages} pages, {seconds:.2f} s: "
            f"{items / seconds:,.0f} items/s, {size / seconds / 2**20:.1f} MB/s "
            f"({size / 2**20:.1f} MB)"
        )


def percentiles(values: list[float]) -> str:
    p50, p99 = np.percentile(np.array(values) * 1000, [50, 99])
    return f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"


def wrk_cached(base: str, paths: list[str], seconds: int) -> str:
    script = Path(tempfile.mkdtemp()) / "tiles.lua"
    listed = ",".join(f'"{p}"' for p in paths)
    script.write_text(
        f"local paths = {{{listed}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        "  return wrk.format('GET', paths[i])\nend\n"
    )
    done = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    found = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", done.stdout, re.M))
    rate = re.search(r"Requests/sec:\s+(\S+)", done.stdout)
    return f"p50 {found.get('50')}  p99 {found.get('99')}  {rate.group(1) if rate else '?'} req/s"


def tiles(base: str, points: list[tuple[float, float]], seconds: int) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        for name, prefix in (("reference", REFERENCE), ("coverage", COVERAGE)):
            for z in ZOOMS:
                cells = sorted({tile_of(lon, lat, z) for lon, lat in points})
                paths = [f"{prefix}/{z}/{y}/{x}" for x, y in cells]
                cold, sizes = [], []
                for path in paths:
                    started = time.perf_counter()
                    answer = client.get(path)
                    cold.append(time.perf_counter() - started)
                    answer.raise_for_status()
                    sizes.append(len(answer.content))
                again = []
                for path in paths:
                    started = time.perf_counter()
                    client.get(path).raise_for_status()
                    again.append(time.perf_counter() - started)
                cached = wrk_cached(base, paths, seconds) if shutil.which("wrk") else "no wrk"
                print(
                    f"{name:9s} z{z:2d}: {len(paths):3d} tiles, mean {np.mean(sizes) / 1024:6.1f}"
                    f" KiB | cold {percentiles(cold)} | cached {percentiles(again)}"
                    f" | cached under wrk -c8 {cached}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk seconds per zoom")
    arguments = parser.parse_args()
    print_machine("OGC API features and tiles (bench/bench_ogc.py)")
    url = resolve_database_url()
    points = sample_points(url)
    process, base = start_server()
    try:
        tiles(base, points, arguments.seconds)
        items_rate(base)
    finally:
        process.terminate()
        process.wait(30)


if __name__ == "__main__":
    main()
