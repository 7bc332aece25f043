"""Bounded resources on a real server: memory under huge bodies, reports beside heavy calls.

1. Peak RSS of a uvicorn server before and after six concurrent 50 MB request bodies
   (three announced by Content-Length, three chunked): each is refused with a 413.
2. Report-POST latency alone, and while 45 siting calls on the demo city are in flight
   (they run two at a time; the rest wait their turn or get a 503).

Run: .venv/bin/python bench/bench_bounds.py [--siting N] [--reports N]
"""

from __future__ import annotations

import argparse
import http.client
import os
import select
import socket
import statistics
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from common import (
    bench_database_url,
    database_version,
    ensure_demo_city,
    free_port,
    print_machine,
    uvicorn_command,
)
from sqlalchemy import create_engine, text

BENCH_DATABASE = "gridsvc_bench_bounds"
ROOT = Path(__file__).resolve().parent.parent
BIG = 50 * 1024 * 1024
SITING = {"circle": "culture_5min", "k": 3}
REPORT = {
    "lon": 109.78,
    "lat": 39.61,
    "category": "public_facility_damage",
    "description": "bench: 井盖缺失",
}


def start_server(database_url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "GRIDSVC_DATABASE_URL": database_url,
        # One client address sends every report here: the per-address limit is not measured.
        "GRIDSVC_RATE_LIMIT_PER_ADDRESS": "1000000/hour",
    }
    command = uvicorn_command(port)
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process, port
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not start")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def huge_body(port: int, chunked: bool) -> int:
    """Send a 50 MB JSON body until the server answers; return the status."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BIG}"
    sock.sendall(
        f"POST /api/v1/issues HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n".encode()
    )
    piece, sent = b"a" * 65536, 0
    while sent < BIG and not select.select([sock], [], [], 0)[0]:
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        except OSError:
            break
        sent += len(piece)
    if chunked and sent >= BIG:
        sock.sendall(b"0\r\n\r\n")
    with sock:
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status


def bench_bodies(port: int, pid: int) -> None:
    before = peak_rss_mib(pid)
    with ThreadPoolExecutor(6) as pool:
        statuses = Counter(pool.map(lambda chunked: huge_body(port, chunked), [False, True] * 3))
    after = peak_rss_mib(pid)
    print(
        f"six concurrent 50 MB bodies: answers {dict(statuses)}; server peak RSS "
        f"{before:.0f} MiB before, {after:.0f} MiB after (+{after - before:.0f} MiB)"
    )


def report_latencies(http: httpx.Client, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = http.post("/api/v1/issues", json=REPORT)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 201, response.text
    return latencies


def bench_reports_beside_siting(port: int, siting_calls: int, reports: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as http:
        http.post("/api/v1/coverage/siting", json=SITING)  # warm the city's caches
        alone = report_latencies(http, reports)
        with ThreadPoolExecutor(siting_calls) as pool:
            calls = [
                pool.submit(http.post, "/api/v1/coverage/siting", json=SITING)
                for _ in range(siting_calls)
            ]
            time.sleep(1.0)  # let them all arrive
            loaded = report_latencies(http, reports)
            pending = sum(not call.done() for call in calls)
            answers = Counter(call.result().status_code for call in calls)
    print(
        f"report POST alone: median {statistics.median(alone) * 1000:.0f} ms, "
        f"max {max(alone) * 1000:.0f} ms ({reports} POSTs)"
    )
    print(
        f"report POST beside {siting_calls} siting calls: median "
        f"{statistics.median(loaded) * 1000:.0f} ms, max {max(loaded) * 1000:.0f} ms; "
        f"{pending} siting calls still pending after the reports; siting answers {dict(answers)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--siting", type=int, default=45, help="concurrent siting calls")
    parser.add_argument("--reports", type=int, default=10, help="report POSTs to time")
    arguments = parser.parse_args()
    print_machine("bounded resources: body caps, heavy lane")
    url = bench_database_url(BENCH_DATABASE)
    print(f"database: {database_version(url)}")
    engine = create_engine(url)
    with engine.connect() as connection:
        loaded = connection.execute(text("SELECT count(*) FROM grids")).scalar_one()
    engine.dispose()
    if not loaded:
        ensure_demo_city(url)
    process, port = start_server(url)
    try:
        bench_bodies(port, process.pid)
        bench_reports_beside_siting(port, arguments.siting, arguments.reports)
    finally:
        process.terminate()
        process.wait(timeout=30)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM rate_limits"))
        engine.dispose()


if __name__ == "__main__":
    main()
