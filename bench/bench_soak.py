"""A bounded soak: reports POSTed at a fixed rate while PostgreSQL is stopped, then killed.

Debian's ``wrk`` POSTs reports (a GCJ-02 point inside a small demo city, an
``Idempotency-Key``, a unique marker in the description) to ``uvicorn gridsvc.main:app
--workers 2`` on 127.0.0.1 at ``--rate`` for ``--duration``. wrk has no rate option: it runs
one connection per thread (``-t N -c N``) and ``bench/soak.lua``'s ``delay()`` gives each
thread one request per ``N / rate`` seconds. The rate is thus a ceiling, held while answers
come faster than that; a thread that falls behind does not burst to catch up.

At 25 % of the run the cluster is stopped (``pg_ctl stop -m fast``) and started again
``--outage`` seconds later; at 60 % its postmaster is killed (``kill -9``) and started again
``--outage`` seconds later. All of it runs on a PostgreSQL cluster of its own in a temporary
folder (never the project's), stopped and removed at the end, even after Ctrl-C or an error.

Printed: the machine; acknowledged (2xx), stored (rows carrying the run's markers), LOST
(acknowledged but not stored: must be 0) and stored but not acknowledged; per phase, the
answers by status with p50/p99 latency; connections closed without an answer (wrk's socket
errors); the server's peak RSS (uvicorn and its workers). Exits 1 if LOST > 0.

Run: .venv/bin/python bench/bench_soak.py [--rate 200/s] [--duration 60s] [--outage 5s]
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from common import database_version, print_machine
from soak_services import Outages, PeakMemory, api_server, own_cluster
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from gridsvc.cluster import service as cluster_service
from gridsvc.cluster.migrations import migrate
from gridsvc.common.coords import wgs84_to_gcj02
from gridsvc.config import Settings
from gridsvc.geodata import city_loader
from gridsvc.geodata.demo import DEFAULT_DEMO_SEED
from gridsvc.geodata.demo.build import build_demo_city

ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = ROOT / "bench" / "soak.lua"
CATEGORIES = ("road_damage", "environmental_sanitation", "illegal_parking", "greenery")
SEED = DEFAULT_DEMO_SEED
WARM_UP_REQUESTS = 20
PHASES = ("before", "stopped", "between", "killed", "after")
PHASE_TITLES = {
    "before": "before the outages",
    "stopped": "pg_ctl stop -m fast .. restarted",
    "between": "between the outages",
    "killed": "kill -9 postmaster .. restarted",
    "after": "after the outages",
}


def seconds(value: str) -> float:
    """Parse '60', '60s', '1.5m' into seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m)?\s*", value)
    if not match or float(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"'{value}' is not a duration such as 60s or 2m")
    return float(match[1]) * (60 if match[2] == "m" else 1)


def rate(value: str) -> float:
    """Parse '200' or '200/s' into requests per second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(/s)?\s*", value)
    if not match or float(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"'{value}' is not a rate such as 200/s")
    return float(match[1])


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=rate, default=200.0, help="requests/s [200/s]")
    parser.add_argument("--duration", type=seconds, default=60.0, help="length of the run [60s]")
    parser.add_argument(
        "--outage",
        type=seconds,
        default=None,
        help="length of each outage [10 %% of --duration, at least 1s]",
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="wrk threads, one connection each [32]"
    )
    parser.add_argument("--timeout", type=seconds, default=10.0, help="wrk's request timeout [10s]")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers [2]")
    parser.add_argument("--grids", type=int, default=60, help="grids of the demo city [60]")
    arguments = parser.parse_args()
    if arguments.outage is None:
        arguments.outage = max(1.0, arguments.duration / 10)
    # The first outage must end before the kill at 60 % of the run.
    if arguments.outage >= 0.35 * arguments.duration:
        parser.error("--outage must be shorter than 35 % of --duration")
    if min(arguments.connections, arguments.workers) < 1 or arguments.grids < 9:
        parser.error("--connections and --workers must be at least 1, --grids at least 9")
    return arguments


def load_city(url: str, grids: int) -> np.ndarray:
    """Migrate, load a small demo city; return GCJ-02 points where its residents live."""
    migrate(url)
    city = build_demo_city(seed=SEED, grids=grids)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        for _ in city_loader.load_city(session, city):
            pass
    engine.dispose()
    people = city.population.geometry.sample(5000, random_state=5, replace=True)
    lon, lat = wgs84_to_gcj02(people.x.to_numpy(), people.y.to_numpy())
    return np.column_stack([lon, lat])


def write_points(points: np.ndarray, path: Path) -> None:
    """The Lua script's input: 'lon lat category' per line."""
    categories = np.random.default_rng(3).choice(CATEGORIES, len(points))
    lines = (f"{x:.7f} {y:.7f} {c}\n" for (x, y), c in zip(points, categories, strict=True))
    path.write_text("".join(lines))


def warm_up(base: str, points: Path) -> None:
    """POST a few reports (not counted) so that every worker has imported and connected."""
    lon, lat, category = points.read_text().splitlines()[0].split()
    body = {
        "lon": float(lon),
        "lat": float(lat),
        "crs": "gcj02",
        "category": category,
        "description": "soak warm-up",
    }

    def post(_: int) -> httpx.Response:
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        return httpx.post(f"{base}/api/v1/issues", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(8) as pool:
        for response in pool.map(post, range(WARM_UP_REQUESTS)):
            if response.status_code != 201:
                raise SystemExit(f"warm-up: {response.status_code} {response.text[:500]}")


def run_wrk(base: str, arguments: argparse.Namespace, folder: Path, tag: str) -> dict[str, int]:
    """Run wrk for the duration; return the counters soak.lua's done() prints."""
    answers = folder / "answers"
    answers.mkdir()
    connections = arguments.connections
    command = [
        "wrk",
        "-t",
        str(connections),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(arguments.duration))}s",
        "--timeout",
        f"{max(1, round(arguments.timeout))}s",
        "-s",
        str(LUA_SCRIPT),
        base,
        "--",
        str(folder / "points.txt"),
        str(answers),
        tag,
        str(connections / arguments.rate),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        output, _ = process.communicate(timeout=arguments.duration + arguments.timeout + 60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise SystemExit(f"wrk failed ({process.returncode}):\n{output}")
    summary = re.search(r"^soak-summary (.*)$", output, re.MULTILINE)
    if summary is None:
        raise SystemExit(f"wrk printed no soak-summary:\n{output}")
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", summary[1])}


# --- what was acknowledged, what was stored ---------------------------------------------------


class Run:
    """What one soak saw: the answers logged by soak.lua, the outages' times, wrk's counters."""

    def __init__(self, folder: Path, started: float, times: dict[str, float]) -> None:
        self.started, self.times = started, times
        rows = [
            line.split(maxsplit=5)
            for path in sorted((folder / "answers").glob("thread-*.log"))
            for line in path.read_text().splitlines()
        ]
        self.sent = np.array([float(row[0]) for row in rows])
        self.latency_ms = np.array([(float(row[1]) - float(row[0])) * 1000 for row in rows])
        self.status = np.array([int(row[2]) for row in rows], dtype=int)
        ok = (self.status >= 200) & (self.status < 300)
        self.acknowledged = {row[3]: row[4] for row, good in zip(rows, ok, strict=True) if good}
        self.details = Counter(f"{row[2]} {row[5]}" for row in rows if len(row) > 5)
        boundaries = [times[name] for name in PHASES[1:]]
        self.phase = np.searchsorted(np.array(boundaries), self.sent, side="right")
        # Filled in by soak() once the server has stopped.
        self.counters: dict[str, int] = {}
        self.peak_rss = 0
        self.tracebacks = 0
        self.stored: dict[str, str] = {}


def stored_reports(url: str, tag: str) -> dict[str, str]:
    """Marker -> id of every stored issue of this run."""
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, description FROM issues WHERE description LIKE :prefix"),
            {"prefix": f"soak {tag}-%"},
        ).all()
    engine.dispose()
    return {description.removeprefix("soak "): str(id_) for id_, description in rows}


def statuses(codes: np.ndarray) -> str:
    counts = Counter(codes.tolist())
    return ", ".join(f"{code}×{count:,}" for code, count in sorted(counts.items())) or "0"


def print_phases(run: Run, duration: float) -> None:
    """Answers by status and latency (of every answer) in each phase, by when it was sent."""
    print(
        f"{'phase (by when a request was sent)':34s} {'from s':>7s} {'answers':>8s} "
        f"{'per s':>6s} {'2xx':>7s} {'p50 ms':>8s} {'p99 ms':>8s}  "
        "5xx; other non-2xx"
    )
    starts = [0.0] + [run.times[name] - run.started for name in PHASES[1:]]
    ends = starts[1:] + [duration]
    for index, name in enumerate(PHASES):
        inside = run.phase == index
        codes, latency = run.status[inside], run.latency_ms[inside]
        ok = int(((codes >= 200) & (codes < 300)).sum())
        p50, p99 = np.percentile(latency, [50, 99]) if len(latency) else (np.nan, np.nan)
        per_second = len(codes) / max(ends[index] - starts[index], 1e-9)
        print(
            f"{PHASE_TITLES[name]:34s} {starts[index]:7.1f} {len(codes):8,} {per_second:6.0f} "
            f"{ok:7,} {p50:8.1f} {p99:8.1f}  {statuses(codes[codes >= 500])}; "
            f"{statuses(codes[(codes < 200) | ((codes >= 300) & (codes < 500))])}"
        )
    if run.times["after"] - run.started >= duration:
        print(
            "note: the cluster came back only after wrk had stopped; a longer --duration "
            "shows the recovery"
        )
    for name in ("between", "after"):
        later = (run.sent >= run.times[name]) & (run.status >= 200) & (run.status < 300)
        first = f"+{run.sent[later].min() - run.times[name]:.2f} s" if later.any() else "none"
        print(f"first acknowledged request sent after the restart ({name}): {first}")


def print_totals(run: Run, connections: int) -> int:
    """The acknowledged/stored balance and the connection figures; return LOST."""
    stored = run.stored
    lost = [marker for marker in run.acknowledged if marker not in stored]
    stored_ids = set(stored.values())
    missing_ids = [i for i in run.acknowledged.values() if i not in stored_ids]
    unacknowledged = [marker for marker in stored if marker not in run.acknowledged]
    print(
        f"acknowledged (2xx): {len(run.acknowledged):,}   stored: {len(stored):,}   "
        f"LOST (acknowledged, not stored): {len(lost):,}   acknowledged ids not in issues: "
        f"{len(missing_ids):,}   stored, not acknowledged: {len(unacknowledged):,}"
    )
    if lost:
        print(f"lost, for example: {', '.join(lost[:5])}")
    for detail, count in run.details.most_common(3):
        print(f"error answer ×{count:,}: {detail}")
    counters = run.counters
    print(
        f"connections closed without an answer (wrk socket errors): connect "
        f"{counters['connect']:,}, read {counters['read']:,}, write {counters['write']:,}; "
        f"answered after --timeout: {counters['timeout']:,}"
    )
    # request() runs once more than requests are sent: wrk checks the script's first request.
    unanswered = counters["made"] - 1 - counters["answered"]
    print(
        f"requests without an answer: {unanswered:,} (up to {connections} of them in flight "
        f"when wrk stopped)"
    )
    print(
        f"server: peak RSS {run.peak_rss / 2**20:,.0f} MiB (uvicorn and its workers, sampled "
        f"every 0.2 s); {run.tracebacks:,} tracebacks in its log"
    )
    return len(lost)


# --- the whole soak ----------------------------------------------------------------------------


def soak(url: str, settings: Settings, folder: Path, arguments: argparse.Namespace) -> Run:
    """Serve, load with wrk while the outages happen, stop the server; return what was seen."""
    tag = uuid.uuid4().hex[:12]
    log = folder / "uvicorn.log"
    with api_server(url, settings, arguments.workers, log) as (base, pid):
        warm_up(base, folder / "points.txt")
        memory = PeakMemory(pid)
        memory.start()
        started = time.time()
        outages = Outages(settings, started, arguments.duration, arguments.outage)
        outages.start()
        try:
            counters = run_wrk(base, arguments, folder, tag)
        except BaseException:
            outages.cancelled.set()
            raise
        finally:
            outages.join()
            memory.finished.set()
    # The server has stopped: every request it took has committed or rolled back.
    if outages.error is not None:
        raise SystemExit(f"the outages did not go as planned: {outages.error}")
    run = Run(folder, started, outages.times)
    run.counters, run.peak_rss = counters, memory.peak
    run.tracebacks = log.read_text(errors="replace").count("Traceback")
    run.stored = stored_reports(url, tag)
    return run


def print_plan(arguments: argparse.Namespace) -> None:
    duration, outage = arguments.duration, arguments.outage
    version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    print(f"load generator: {version.stdout.splitlines()[0].split(' Copyright')[0]}")
    print(
        f"load: {arguments.rate:g} requests/s for {duration:g} s, wrk -t "
        f"{arguments.connections} -c {arguments.connections} (rate held by soak.lua's delay()); "
        f"uvicorn --workers {arguments.workers} on 127.0.0.1; a demo city of {arguments.grids} "
        f"grids; outages of {outage:g} s from {0.25 * duration:g} s (pg_ctl stop -m fast) and "
        f"{0.6 * duration:g} s (kill -9 of the postmaster)"
    )


def main() -> int:
    arguments = parse_arguments()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: install Debian's wrk (`make bench` does).")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as after Ctrl-C
    print_machine("soak: reports through a stopped and a killed PostgreSQL")
    with own_cluster() as (settings, folder):
        url = cluster_service.database_url(settings)
        print(f"database: {database_version(url)}, a cluster of its own in {folder}")
        write_points(load_city(url, arguments.grids), folder / "points.txt")
        print_plan(arguments)
        run = soak(url, settings, folder, arguments)
    print_phases(run, arguments.duration)
    lost = print_totals(run, arguments.connections)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
