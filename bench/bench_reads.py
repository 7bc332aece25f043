"""Stored coverage reads over HTTP: /api/v1/coverage for the city and the full-city coverage map.

A uvicorn server (one worker, the scheduler and the city's warm-up off: only stored rows are
read) serves the demo database; each address is asked once (the first answer, which may build
what later ones reuse, is printed apart), then loaded by Debian's ``wrk`` for ``--duration``
seconds with ``--connections`` connections; wrk's median and p99 latency and its rate are
printed.

Run: .venv/bin/python bench/bench_reads.py [--duration 10] [--connections 4]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.common import free_port, print_machine, uvicorn_command

ADDRESSES = {
    "coverage, level=city (network)": "/api/v1/coverage?circle=culture_5min&level=city",
    "coverage, level=city (euclidean)": (
        "/api/v1/coverage?circle=culture_5min&level=city&mode=euclidean"
    ),
    "coverage, every grid (limit 10000)": "/api/v1/coverage?circle=culture_5min&limit=10000",
    "full-city coverage map": "/maps/coverage?circle=culture_5min",
}
_LATENCY = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wait_until_up(base: str, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not come up")


def run_wrk(url: str, duration: int, connections: int) -> tuple[float, float, float]:
    """Return wrk's median and p99 latency (ms) and requests per second."""
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections)]
    command += ["-d", f"{duration}s", "--latency", "--timeout", "10s", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = {p: float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(output)}
    rate = _RATE.search(output)
    return latency.get("50", float("nan")), latency.get("99", float("nan")), float(rate[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per address")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    print_machine("stored coverage reads over HTTP (uvicorn, 1 worker, wrk)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "GRIDSVC_WARM_CITY": "false", "GRIDSVC_SCHEDULER": "false"}
    server = subprocess.Popen(uvicorn_command(port), env=env)
    try:
        wait_until_up(base)
        print(f"wrk: {args.connections} connections, {args.duration} s per address")
        print(f"{'address':<38}{'first ms':>10}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>8}{'load':>6}")
        for name, path in ADDRESSES.items():
            started = time.perf_counter()
            first = httpx.get(base + path, timeout=120)
            first_ms = (time.perf_counter() - started) * 1000
            if first.status_code != 200:
                raise SystemExit(f"{path}: {first.status_code} {first.text[:300]}")
            source = first.json().get("source", "") if "api" in path else "html"
            p50, p99, rate = run_wrk(base + path, args.duration, args.connections)
            load = os.getloadavg()[0]
            print(f"{name:<38}{first_ms:>10.0f}{p50:>9.1f}{p99:>9.1f}{rate:>8.1f}{load:>6.2f}"
                  f"  ({source}, {len(first.content):,} bytes)")  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
