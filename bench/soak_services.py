"""What bench_soak.py runs beside wrk: its own cluster, the API server, the outages, a memory probe.

The cluster lives in a temporary folder and is stopped and removed however the soak ends; the
server's processes are stopped the same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
from common import free_port, uvicorn_command

from gridsvc.cluster import service as cluster_service
from gridsvc.cluster.home import ClusterError, ClusterPaths
from gridsvc.config import Settings

ROOT = Path(__file__).resolve().parent.parent
RESTART_PATIENCE_SECONDS = 60


@contextmanager
def own_cluster() -> Iterator[tuple[Settings, Path]]:
    """A new cluster in a temporary folder; stopped and removed however the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="gridsvc-soak-"))
    # Explicit values: the caller's GRIDSVC_HOME or GRIDSVC_DATABASE_URL must not be used.
    settings = Settings(
        home=folder / "cluster",
        database_url=None,
        database_name="gridsvc_soak",
        photos_dir=folder / "photos",
    )
    try:
        cluster_service.start(settings)
        yield settings, folder
    finally:
        try:
            cluster_service.stop(settings)
        except ClusterError:
            kill_postmaster(settings)
        shutil.rmtree(folder, ignore_errors=True)


def kill_postmaster(settings: Settings) -> None:
    """``kill -9`` the cluster's postmaster (its backends end when they notice)."""
    server = cluster_service.running_server(ClusterPaths(settings.home))
    if server is not None:
        os.kill(server[0], signal.SIGKILL)


def restart(settings: Settings, cancelled: threading.Event) -> None:
    """Start the cluster, retrying while a killed postmaster's backends still hold it."""
    deadline = time.monotonic() + RESTART_PATIENCE_SECONDS
    while not cancelled.is_set():
        try:
            cluster_service.start(settings)
            return
        except ClusterError:
            if time.monotonic() > deadline:
                raise
            cancelled.wait(0.5)


@contextmanager
def api_server(url: str, settings: Settings, workers: int, log: Path) -> Iterator[tuple[str, int]]:
    """``uvicorn gridsvc.main:app`` on the soak's database; yields its base URL and PID."""
    port = free_port()
    environment = {
        **os.environ,
        "GRIDSVC_DATABASE_URL": url,
        "GRIDSVC_HOME": str(settings.home),
        "GRIDSVC_PHOTOS_DIR": str(settings.photos_dir),
    }
    command = uvicorn_command(port, "--workers", str(workers))
    with log.open("w") as output:
        # A session of its own: a Ctrl-C reaches this script, which stops the server itself.
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(process, base)
        yield base, process.pid
    finally:
        stop_process_tree(process)


def wait_until_serving(process: subprocess.Popen, base: str) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"uvicorn exited with {process.returncode}")
        try:
            httpx.get(f"{base}/openapi.json", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("uvicorn did not answer within 60 s")


def stop_process_tree(process: subprocess.Popen) -> None:
    """SIGTERM (uvicorn lets its requests finish), then SIGKILL whatever is left."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for child in children:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


class PeakMemory(threading.Thread):
    """Samples the resident memory of a process and its children; keeps the peak sum."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self.finished = threading.Event()

    def run(self) -> None:
        while not self.finished.wait(self.interval):
            try:
                root = psutil.Process(self.pid)
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak = max(self.peak, total)


class Outages(threading.Thread):
    """Stops the cluster, starts it, kills its postmaster, starts it: at set times."""

    def __init__(self, settings: Settings, started: float, duration: float, outage: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.started = settings, started
        self.stop_at, self.kill_at, self.outage = 0.25 * duration, 0.6 * duration, outage
        self.times: dict[str, float] = {}  # phase name -> when it began (epoch seconds)
        self.cancelled = threading.Event()
        self.error: BaseException | None = None

    def wait_until(self, offset: float) -> bool:
        return not self.cancelled.wait(max(0.0, self.started + offset - time.time()))

    def run(self) -> None:
        try:
            if not self.wait_until(self.stop_at):
                return
            self.times["stopped"] = time.time()
            cluster_service.stop(self.settings)  # pg_ctl stop -m fast
            if not self.wait_until(self.stop_at + self.outage):
                return
            restart(self.settings, self.cancelled)
            self.times["between"] = time.time()
            if not self.wait_until(self.kill_at):
                return
            self.times["killed"] = time.time()
            kill_postmaster(self.settings)
            if not self.wait_until(self.kill_at + self.outage):
                return
            restart(self.settings, self.cancelled)
            self.times["after"] = time.time()
        except BaseException as error:  # reported by the main thread
            self.error = error
