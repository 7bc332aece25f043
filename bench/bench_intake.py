"""Issue intake over HTTP, driven by wrk: gridsvc's POST /api/v1/issues beside a bare endpoint.

Two servers on 127.0.0.1 in the same run: ``gridsvc serve`` as a user starts it (its default
workers, pool and uvicorn settings) and the bare FastAPI app of bench/bare_app.py under the
same uvicorn settings and the same number of workers (bench/bare_serve.py). Debian's ``wrk``
drives both with bench/intake.lua: every request a new valid report (a GCJ-02 point inside a
grid of the demo city, its own Idempotency-Key, a description with the run's marker).

1. Throughput: ``wrk -t THREADS -c CONNECTIONS`` as fast as answers come, for ``--duration``.
2. Fixed rate (``--rate``, 200/s): wrk has no rate option (wrk2 is not in Debian), so it runs
   one connection per thread and intake.lua's ``delay()`` gives each connection one request
   per ``connections / rate`` seconds; the achieved rate is printed to show it was held.

Each run also prints the CPU each answer cost the server's workers and PostgreSQL (psutil,
over the run; PostgreSQL's backends that ended included), and the whole bench the sessions
PostgreSQL opened in the run's database: a new backend per session, and its first plans.

A run with any non-2xx answer or socket error is refused (exit 1), and the reports gridsvc
acknowledged must all be stored. The reporter rate limit stays on: every report is still
counted in PostgreSQL; only its limit is raised (GRIDSVC_RATE_LIMIT_PER_ADDRESS) so one
address may send them all. Each run starts from a fresh copy of a template database holding
the demo city (6,702 grids) and no issues, so runs of two trees compare alike.

Run: .venv/bin/python bench/bench_intake.py [--tree ../main] [--duration 10] [--rate 200]
     [--profile [--samples FILE]: then py-spy on gridsvc's workers, see bench/intake_profile.py]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import intake_profile
import numpy as np
import psutil
from common import database_version, ensure_demo_city, free_port, print_machine, print_speed
from soak_services import stop_process_tree, wait_until_serving
from sqlalchemy import create_engine, text

from gridsvc.cluster import databases as cluster_databases
from gridsvc.cluster import service as cluster_service
from gridsvc.cluster.migrations import migrate
from gridsvc.common.coords import wgs84_to_gcj02
from gridsvc.config import get_settings

ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = ROOT / "bench" / "intake.lua"
TEMPLATE_DATABASE = "gridsvc_bench_intake_city"
RUN_DATABASE = "gridsvc_bench_intake"
CATEGORIES = ("road_damage", "environmental_sanitation", "illegal_parking", "greenery")
POINTS = 5000
WARM_UP_SECONDS = 3


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to serve [this one]")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each run [10]")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads, throughput [2]")
    parser.add_argument(
        "--connections", type=int, default=32, help="wrk connections, throughput [32]"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="fixed rate, requests/s [200]")
    parser.add_argument(
        "--rate-connections", type=int, default=16, help="connections at the fixed rate [16]"
    )
    parser.add_argument(
        "--profile", action="store_true", help="then profile gridsvc with py-spy (one more run)"
    )
    parser.add_argument(
        "--samples",
        type=Path,
        help="with --profile: also keep py-spy's raw samples in this file (collapsed stacks)",
    )
    arguments = parser.parse_args()
    arguments.tree = arguments.tree.resolve()
    if not (arguments.tree / "gridsvc" / "cli.py").exists():
        parser.error(f"--tree {arguments.tree} is not a gridsvc checkout")
    if min(arguments.duration, arguments.threads, arguments.connections) < 1:
        parser.error("--duration, --threads and --connections must be at least 1")
    return arguments


def fresh_database() -> str:
    """A copy of the template (demo city, no issues), made anew for this run; return its URL."""
    settings = get_settings()
    cluster_service.start(settings)
    if not cluster_databases.database_exists(settings, TEMPLATE_DATABASE):
        url = cluster_databases.ensure_database(settings, TEMPLATE_DATABASE)
        migrate(url)
        ensure_demo_city(url)
    migrate(cluster_databases.database_url(settings, TEMPLATE_DATABASE))
    cluster_databases.drop_database(settings, RUN_DATABASE)
    admin = cluster_databases.database_url(settings, "postgres")
    with cluster_databases.autocommit_connection(admin) as connection:
        connection.execute(text(f"CREATE DATABASE {RUN_DATABASE} TEMPLATE {TEMPLATE_DATABASE}"))
    return cluster_databases.database_url(settings, RUN_DATABASE)


def write_points(url: str, path: Path) -> None:
    """'lon lat category' lines: GCJ-02 points, one inside each of POINTS random grids."""
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT ST_X(p.geom), ST_Y(p.geom) FROM ("
                " SELECT (ST_Dump(ST_GeneratePoints(geom, 1, 7))).geom FROM grids"
                " WHERE valid_to IS NULL ORDER BY md5(code) LIMIT :count) AS p"
            ),
            {"count": POINTS},
        ).all()
    engine.dispose()
    xy = np.array(rows, dtype=float)
    lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    categories = np.random.default_rng(3).choice(CATEGORIES, len(xy))
    path.write_text(
        "".join(f"{x:.7f} {y:.7f} {c}\n" for x, y, c in zip(lon, lat, categories, strict=True))
    )


def server_environment(tree: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(tree),
        "GRIDSVC_DATABASE_URL": url,
        "GRIDSVC_SCHEDULER": "false",
        # Every report is still counted; one address may send all of them.
        "GRIDSVC_RATE_LIMIT_PER_ADDRESS": "1000000000/hour",
    }


@contextmanager
def serving(command: list[str], tree: Path, env: dict[str, str], log: Path):
    """Run a server until the block ends; yield its base URL and process."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=tree,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(process, base)
        yield base, process
    finally:
        stop_process_tree(process)


def worker_count(process: subprocess.Popen) -> int:
    """uvicorn's worker processes (a single-worker server serves in its own process)."""
    children = psutil.Process(process.pid).children()
    spawned = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
    return max(1, len(spawned))


def wrk(base: str, arguments: list[str], points: Path, tag: str, interval: float) -> dict:
    """Run wrk with intake.lua; return its summary (the run's figures)."""
    command = [
        "wrk",
        *arguments,
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        base,
        "--",
        str(points),
        tag,
        f"{interval:.6f}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    summary = re.search(r"^intake-summary (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or summary is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures = dict(re.findall(r"(\w+)=(\S+)", summary[1]))
    result = {k: v if k == "first_error" else int(v) for k, v in figures.items()}
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def refuse_errors(name: str, result: dict) -> None:
    errors = sum(result[key] for key in ("not_2xx", "connect", "read", "write", "timeout"))
    if errors:
        raise SystemExit(
            f"{name}: {result['not_2xx']} non-2xx answers, socket errors connect "
            f"{result['connect']} read {result['read']} write {result['write']} timeout "
            f"{result['timeout']} (first: {result['first_error']}); not reported"
        )


def count_in(url: str, query: str, **parameters: object) -> int:
    """The one number ``query`` answers in the run's database."""
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text(query), parameters).scalar_one()
    engine.dispose()
    return int(count)


def stored_reports(url: str, tag: str) -> int:
    return count_in(
        url,
        "SELECT count(*) FROM issues WHERE description LIKE :prefix",
        prefix=f"intake {tag}-%",
    )


def load_average() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(name: str, result: dict) -> None:
    print(
        f"{name:44s} {result['rate']:8,.0f} req/s  p50 {result['p50_us'] / 1000:6.1f} ms  "
        f"p90 {result['p90_us'] / 1000:6.1f} ms  p99 {result['p99_us'] / 1000:6.1f} ms  "
        f"max {result['max_us'] / 1000:6.1f} ms  ({result['requests']:,} answers, all 2xx; "
        f"{load_average()})"
    )
    if "server_cpu" in result:
        database = result["postgres_cpu"]
        print(
            f"{'':44s} CPU per answer: the server's workers {result['server_cpu']:.2f} ms, "
            + (f"PostgreSQL {database:.2f} ms" if database is not None else "PostgreSQL n/a")
        )


def cpu_use(server_pid: int) -> tuple[float, float | None]:
    """CPU seconds so far of the server ``server_pid`` (its workers) and of PostgreSQL."""
    return intake_profile.cpu_seconds(server_pid), intake_profile.postgres_cpu_seconds()


def add_cpu_per_answer(result: dict, before: tuple, after: tuple) -> None:
    """Put the CPU milliseconds per answer of the server and of PostgreSQL into ``result``."""
    answers = result["requests"]
    result["server_cpu"] = 1000 * (after[0] - before[0]) / answers
    unknown = None in (before[1], after[1])  # no PostgreSQL on this machine
    result["postgres_cpu"] = None if unknown else 1000 * (after[1] - before[1]) / answers


def sessions_opened(url: str) -> int:
    """Sessions PostgreSQL has opened in the run's database (its statistics, PostgreSQL 14+)."""
    return count_in(url, "SELECT sessions FROM pg_stat_database WHERE datname = current_database()")


def measure(
    servers: dict[str, tuple[str, int]], url: str, points: Path, arguments: argparse.Namespace
):
    """Throughput, then the fixed rate, on each server; refuse any run with errors.

    ``servers``: name -> (base URL, process id).
    """
    duration = f"{arguments.duration}s"
    flat_out = ["-t", str(arguments.threads), "-c", str(arguments.connections), "-d", duration]
    paced = [
        "-t",
        str(arguments.rate_connections),
        "-c",
        str(arguments.rate_connections),
        "-d",
        duration,
    ]
    interval = arguments.rate_connections / arguments.rate
    results: dict[tuple[str, str], dict] = {}
    for base, _ in servers.values():
        wrk(base, ["-t", "2", "-c", "8", "-d", f"{WARM_UP_SECONDS}s"], points, "warmup", 0)
    for mode, wrk_arguments, pace in (("throughput", flat_out, 0.0), ("rate", paced, interval)):
        for name, (base, pid) in servers.items():
            tag = uuid.uuid4().hex[:12]
            before = cpu_use(pid)
            result = wrk(base, wrk_arguments, points, tag, pace)
            add_cpu_per_answer(result, before, cpu_use(pid))
            title = f"{name}, " + ("as fast as answered" if not pace else f"{arguments.rate:g}/s")
            refuse_errors(title, result)
            if name == "gridsvc":
                result["stored"] = stored_reports(url, tag)
                if result["stored"] < result["requests"]:
                    raise SystemExit(
                        f"{title}: {result['requests']:,} acknowledged, only "
                        f"{result['stored']:,} stored"
                    )
            report(title, result)
            results[(name, mode)] = result
    return results


def conclude(results: dict, arguments: argparse.Namespace) -> None:
    ratio = results[("gridsvc", "throughput")]["rate"] / results[("bare", "throughput")]["rate"]
    paced = results[("gridsvc", "rate")]
    p99 = paced["p99_us"] / 1000
    held = paced["rate"] >= 0.97 * arguments.rate
    print(
        f"gridsvc / bare throughput: {ratio:.2f} (target >= 0.50: "
        f"{'met' if ratio >= 0.5 else 'NOT met'})"
    )
    print(
        f"gridsvc at {arguments.rate:g}/s: {paced['rate']:.0f} req/s achieved "
        f"({'held' if held else 'NOT held'}), p99 {p99:.1f} ms (target < 100 ms: "
        f"{'met' if held and p99 < 100 else 'NOT met'})"
    )
    print(
        f"stored: every acknowledged report ({paced['stored']:,} at the fixed rate, "
        f"{results[('gridsvc', 'throughput')]['stored']:,} flat out)"
    )


def print_log_on_error(log: Path) -> None:
    """The end of the gridsvc server's log, when the run stops on an error."""
    if sys.exc_info()[0] is not None and log.exists():
        print("gridsvc server log, last lines:\n" + "\n".join(log.read_text().splitlines()[-30:]))


def main() -> None:
    arguments = parse_arguments()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: install Debian's wrk (`make bench` does).")
    print_machine("intake: POST /api/v1/issues under wrk, beside a bare FastAPI endpoint")
    print(load_average())
    url = fresh_database()
    print(f"database: {database_version(url)}; a fresh copy of {TEMPLATE_DATABASE}")
    version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    print(f"load generator: {version.stdout.splitlines()[0].split(' Copyright')[0]}")
    python = sys.executable
    env = server_environment(arguments.tree, url)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gridsvc-intake-")))
        points = folder / "points.txt"
        write_points(url, points)
        stack.callback(print_log_on_error, folder / "gridsvc.log")
        gridsvc_command = [python, "-m", "gridsvc.cli", "serve"]
        base, process = stack.enter_context(
            serving(gridsvc_command, arguments.tree, env, folder / "gridsvc.log")
        )
        workers = worker_count(process)
        bare_command = [python, str(ROOT / "bench" / "bare_serve.py"), "--workers", str(workers)]
        bare_base, bare = stack.enter_context(
            serving(bare_command, arguments.tree, env, folder / "bare.log")
        )
        print(
            f"served: `gridsvc serve` from {arguments.tree} with its defaults: "
            f"{workers} worker(s); bare_app under the same uvicorn settings, "
            f"{workers} worker(s)"
        )
        print(
            f"wrk: throughput -t {arguments.threads} -c {arguments.connections}; fixed rate "
            f"-t {arguments.rate_connections} -c {arguments.rate_connections}, one request per "
            f"{arguments.rate_connections / arguments.rate * 1000:.0f} ms per connection "
            f"(intake.lua's delay()); {arguments.duration} s each, after a "
            f"{WARM_UP_SECONDS} s warm-up"
        )
        servers = {"bare": (bare_base, bare.pid), "gridsvc": (base, process.pid)}
        results = measure(servers, url, points, arguments)
        print(
            f"PostgreSQL sessions opened in the run's database: {sessions_opened(url):,} "
            "(each one a new backend: its start and its first plans)"
        )
        if arguments.profile:
            flat_out = [
                "-t",
                str(arguments.threads),
                "-c",
                str(arguments.connections),
                "-d",
                f"{arguments.duration}s",
            ]
            intake_profile.profile(
                process.pid,
                arguments.duration,
                lambda: wrk(base, flat_out, points, "profile", 0),
                keep=arguments.samples,
            )
        httpx.get(f"{base}/openapi.json", timeout=5)  # still serving after the load
    print_speed("after the runs")
    conclude(results, arguments)


if __name__ == "__main__":
    main()
