"""Shared by the benchmarks: the machine they ran on, and a database holding the demo city."""

from __future__ import annotations

import os
import platform
import resource
import socket
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The servers a benchmark starts measure requests: the scheduler's escalation and bulletin
# jobs (run 30 s after start-up, then on their crontab lines) would only add noise.
os.environ.setdefault("GRIDSVC_SCHEDULER", "false")
# Nor the city's warm-up at start-up (seconds of CPU in the background of what they measure).
os.environ.setdefault("GRIDSVC_WARM_CITY", "false")

import numpy as np
import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from gridsvc.cluster import service as cluster_service
from gridsvc.cluster.migrations import migrate
from gridsvc.config import get_settings
from gridsvc.geodata.demo import DEFAULT_DEMO_SEED

BENCH_DATABASE = "gridsvc_bench"
BENCH_SEED = DEFAULT_DEMO_SEED


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def print_machine(title: str) -> None:
    print(f"== {title}")
    print(
        f"machine: {platform.node()} | {cpu_model()} | {os.cpu_count()} cores | "
        f"{memory_gib():.1f} GiB | {platform.system()} {platform.release()} | "
        f"Python {platform.python_version()}"
    )
    print_speed("now")


def reference_ms(repeats: int = 7) -> float:
    """Milliseconds one core takes at this moment for a fixed piece of work (the median).

    The VM is shared and its speed drifts: the same intake run cost 1.7 times more CPU per
    answer half an hour later. Timed beside a benchmark's figures, the same work (a Python
    loop and a GEOS union) tells how fast the machine was while they were taken.
    """
    points = shapely.points(np.random.default_rng(0).uniform(0, 1000, (300, 2)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sum(i * i for i in range(100_000))
        shapely.union_all(shapely.buffer(points, 40, quad_segs=4))
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def print_speed(moment: str) -> None:
    """Print the reference work's time (:func:`reference_ms`) at ``moment``."""
    print(
        f"speed {moment}: the reference work takes {reference_ms():.1f} ms on one core "
        "(bench/common.py; more means a slower machine)"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def uvicorn_command(port: int, *options: str) -> list[str]:
    """``uvicorn gridsvc.main:app`` on 127.0.0.1:``port``, quiet, with ``options`` added."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "gridsvc.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *options,
        "--log-level",
        "warning",
    ]


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` holds the elapsed seconds."""
    elapsed: list[float] = []
    started = time.perf_counter()
    yield elapsed
    elapsed.append(time.perf_counter() - started)


def bench_database_url(name: str = BENCH_DATABASE) -> str:
    """A migrated benchmark database (never the demo's) on the configured server."""
    settings = get_settings()
    cluster_service.start(settings)
    url = cluster_service.ensure_database(settings, name)
    migrate(url)
    return url


def database_version(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version()")).scalar_one().split(",")[0]
        postgis = connection.execute(text("SELECT postgis_lib_version()")).scalar_one()
    engine.dispose()
    return f"{version}, PostGIS {postgis}"


def ensure_demo_city(url: str, seed: int = BENCH_SEED):  # DemoCity
    """Build the default demo city and load it into the benchmark database."""
    from gridsvc.geodata import city_loader
    from gridsvc.geodata.demo.build import build_demo_city

    city = build_demo_city(seed=seed)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        for _ in city_loader.load_city(session, city):
            pass
    engine.dispose()
    return city
