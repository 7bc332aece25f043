"""Issue submissions through HTTP, and bulk routing of points to grids.

1. Submissions per second and latency percentiles: POST /api/v1/issues (GCJ-02 point,
   Idempotency-Key, routing, department, deadline, duplicate suggestions, commit) on a
   uvicorn server on loopback, beside a bare FastAPI endpoint measured in the same run.
2. Routing 1,000,000 points to grids: through PostGIS (gridsvc.grids.service, a temporary
   table per chunk of 100k points, GiST) and through an in-process shapely STRtree; both
   must agree.

Run: .venv/bin/python bench/bench_issues.py [--requests N] [--clients N] [--points N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import shapely
from common import bench_database_url, database_version, free_port, print_machine, timed
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gridsvc.common.coords import wgs84_to_gcj02
from gridsvc.geodata import city_loader
from gridsvc.geodata.demo.build import build_demo_city
from gridsvc.grids import placing as grid_placing

BENCH_DATABASE = "gridsvc_bench_issues"
ROOT = Path(__file__).resolve().parent.parent
CHUNK = 100_000


def start_server(app: str, env: dict[str, str], workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--workers",
        str(workers),
        "--app-dir",
        str(ROOT / "bench"),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{url}/openapi.json", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{app} did not start")


def load(url: str, bodies: list[dict], clients: int) -> tuple[float, np.ndarray]:
    """POST every body with ``clients`` concurrent clients; return seconds and latencies."""
    latencies = np.zeros(len(bodies))

    def post(index: int) -> None:
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        started = time.perf_counter()
        response = http.post("/api/v1/issues", json=bodies[index], headers=headers)
        latencies[index] = time.perf_counter() - started
        assert response.status_code == 201, response.text

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(base_url=url, timeout=60, limits=limits) as http:
        for index in range(min(50, len(bodies))):  # warm-up
            post(index)
        with timed() as t, ThreadPoolExecutor(clients) as pool:
            list(pool.map(post, range(len(bodies))))
    return t[0], latencies


def report_line(name: str, seconds: float, latencies: np.ndarray) -> float:
    rate = len(latencies) / seconds
    p50, p95, p99 = np.percentile(latencies * 1000, [50, 95, 99])
    print(
        f"{name:34s} {rate:8,.0f} req/s   p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   p99 {p99:6.1f} ms"
    )
    return rate


def submissions(url: str, city, arguments: argparse.Namespace) -> None:
    rng = np.random.default_rng(3)
    people = city.population.geometry.sample(arguments.requests, random_state=5, replace=True)
    lon, lat = wgs84_to_gcj02(people.x.to_numpy(), people.y.to_numpy())
    categories = ["road_damage", "environmental_sanitation", "illegal_parking", "greenery"]
    bodies = [
        {
            "lon": float(x),
            "lat": float(y),
            "crs": "gcj02",
            "accuracy_m": 10.0,
            "category": categories[int(rng.integers(4))],
            "description": "bench 路面破损",
        }
        for x, y in zip(lon, lat, strict=True)
    ]
    workers = arguments.workers
    env = {"GRIDSVC_DATABASE_URL": url}
    print(
        f"HTTP: {len(bodies):,} submissions, {arguments.clients} clients, "
        f"uvicorn --workers {workers}, loopback"
    )
    gridsvc_server, gridsvc_url = start_server("gridsvc.main:app", env, workers)
    bare_server, bare_url = start_server("bare_app:app", {}, workers)
    try:
        bare_rate = report_line("bare FastAPI endpoint", *load(bare_url, bodies, arguments.clients))
        rate = report_line(
            "gridsvc POST /api/v1/issues", *load(gridsvc_url, bodies, arguments.clients)
        )
        print(f"gridsvc / bare: {rate / bare_rate:.2f} (routing + persistence cost)")
    finally:
        for process in (gridsvc_server, bare_server):
            process.terminate()
            process.wait(10)


def bulk_routing(url: str, city, count: int) -> None:
    rng = np.random.default_rng(42)
    minx, miny, maxx, maxy = city.grids.total_bounds
    people = city.population.geometry.sample(count // 2, random_state=7, replace=True)
    near = np.column_stack([people.x, people.y]) + rng.normal(0, 0.002, (len(people), 2))
    xy = np.vstack([near, rng.uniform([minx, miny], [maxx, maxy], (count - len(near), 2))])
    engine = create_engine(url)
    with timed() as t, Session(engine) as session:
        found: list = []
        for start in range(0, count, CHUNK):
            part = xy[start : start + CHUNK]
            found += grid_placing.grid_codes_for_points(
                session, part[:, 0].tolist(), part[:, 1].tolist()
            )
    engine.dispose()
    postgis_seconds = t[0]
    grids = city.grids.sort_values("code").reset_index(drop=True)
    with timed() as t:
        tree = shapely.STRtree(grids.geometry.values)
    build_seconds = t[0]
    with timed() as t:
        point_index, grid_index = tree.query(shapely.points(xy), predicate="intersects")
        lowest = np.full(count, len(grids), dtype=np.int64)
        np.minimum.at(lowest, point_index, grid_index)  # grids sorted: lowest index = code
        codes = np.append(grids["code"].to_numpy(dtype=object), None)[lowest]
    tree_seconds = t[0]
    assert list(codes) == found, "PostGIS and the STRtree disagree"
    inside = sum(code is not None for code in found)
    print(
        f"bulk routing: {count:,} points ({inside:,} inside a grid), "
        f"{len(grids):,} grids; both agree on every point"
    )
    print(
        f"{'PostGIS (100k-point temp tables)':34s} {count / postgis_seconds:12,.0f} points/s "
        f"({postgis_seconds:.2f} s)"
    )
    print(
        f"{'in-process shapely STRtree':34s} {count / tree_seconds:12,.0f} points/s "
        f"({tree_seconds:.2f} s, + {build_seconds:.2f} s to build the index)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--points", type=int, default=1_000_000)
    arguments = parser.parse_args()
    print_machine("issues: submissions over HTTP, bulk routing")
    url = bench_database_url(BENCH_DATABASE)
    print(f"database: {database_version(url)}")
    city = build_demo_city(seed=20240601)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        if not city_loader.city_is_loaded(session):
            for _ in city_loader.load_city(session, city):
                pass
    engine.dispose()
    submissions(url, city, arguments)
    bulk_routing(url, city, arguments.points)


if __name__ == "__main__":
    main()
