"""Where a gridsvc worker's time goes under intake load: py-spy on the uvicorn workers.

bench_intake.py --profile runs one more flat-out wrk run against gridsvc (not counted in
its figures) while ``py-spy record --gil --subprocesses`` samples the server: only threads
holding the GIL, i.e. the Python work that the workers' cores spend, not the waiting on
PostgreSQL. The samples are put in stages by the functions on their stacks (the names of
this tree and of older ones), and the workers' CPU time per answered report is printed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psutil

#: Stage of a sample: the first rule whose function appears on the stack (worker threads).
STAGES = (
    ("rate-limit counter", ("hit",)),
    ("coordinates (GCJ-02 -> WGS-84)", ("to_wgs84",)),
    (
        "routing lookups (category, grid, department, deadline)",
        ("route", "place_point", "get_category", "department_for", "stage_deadline"),
    ),
    ("insert issue and event", ("insert_report", "Session.flush", "record_event")),
    ("answer body (duplicates, department name)", ("created_body",)),
    ("idempotency key, first statement's connection and BEGIN", ("once",)),
    ("session commit and close", ("transaction_per_request", "_commit_and_close")),
)


def stage_of(functions: list[str]) -> str:
    if "WorkerThread.run" not in functions:
        return "event loop: uvicorn, FastAPI dependencies and middleware, response"
    for stage, names in STAGES:
        if any(name in functions for name in names):
            return stage
    return "other work in the thread pool"


def summarise(raw: Path) -> tuple[Counter, Counter]:
    """GIL samples by stage, and by innermost function, from py-spy's raw output."""
    stages: Counter = Counter()
    innermost: Counter = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        stages[stage_of([frame.split(" (")[0] for frame in frames])] += int(count)
        innermost[frames[-1].replace(str(Path(psutil.__file__).parent.parent), "")] += int(count)
    return stages, innermost


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children so far."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def postgres_cpu_seconds() -> float | None:
    """User and system CPU of this machine's PostgreSQL servers so far, ended backends too.

    A server's backends are its postmaster's children: those still running count their own
    time, those that ended have been added to the postmaster's children's time. None when
    no PostgreSQL runs here (a server elsewhere).
    """
    total, found = 0.0, False
    for process in psutil.process_iter(["name"]):
        try:
            parent = process.parent()
            if process.info["name"] != "postgres" or (parent and parent.name() == "postgres"):
                continue
            found = True
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
            for backend in process.children():
                times = backend.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            pass
    return total if found else None


def profile(pid: int, seconds: int, run_load: Callable[[], dict], keep: Path | None = None) -> None:
    """Sample the server ``pid`` while ``run_load()`` drives it; print the stages.

    With ``keep``, the raw samples (one collapsed stack per line) are copied there too.
    """
    beside = Path(sys.executable).parent / "py-spy"  # the venv's, when it is not on PATH
    spy = shutil.which("py-spy") or (str(beside) if beside.exists() else None)
    if spy is None:
        raise SystemExit("py-spy not found: pip install py-spy (in the dev extras)")
    with tempfile.TemporaryDirectory(prefix="gridsvc-profile-") as folder:
        raw = Path(folder) / "samples.txt"
        command = [
            spy,
            "record",
            "--gil",
            "--subprocesses",
            "--rate",
            "100",
            "--duration",
            str(seconds + 1),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--pid",
            str(pid),
        ]
        sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        before = cpu_seconds(pid)
        result = run_load()
        used = cpu_seconds(pid) - before
        sampler.wait(seconds + 60)
        if not raw.exists():
            raise SystemExit(f"py-spy wrote nothing: {sampler.stderr.read().decode()[:500]}")
        stages, innermost = summarise(raw)
        if keep is not None:
            shutil.copyfile(raw, keep)
    total = sum(stages.values()) or 1
    print(
        f"profile: py-spy --gil on the server's workers during {result['requests']:,} "
        f"reports ({result['rate']:.0f} req/s under the sampler); workers' CPU "
        f"{used / max(result['requests'], 1) * 1000:.1f} ms per report"
    )
    for stage, count in stages.most_common():
        print(f"  {100 * count / total:5.1f} %  {stage}")
    print("  innermost functions:")
    for function, count in innermost.most_common(8):
        print(f"  {100 * count / total:5.1f} %  {function[:110]}")
