"""Region fixtures: a small demo city with stored coverage, Dask clusters, comparisons."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from distributed import Client
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from gridsvc.coverage import analysis, refresh
from gridsvc.coverage.circles import load_circles
from gridsvc.coverage.models import GridCoverage
from gridsvc.geodata import city_loader
from gridsvc.region import layout, partition
from gridsvc.region.driver import region_client
from tests.maps.conftest import free_port

SMALL_SEED = 11
SMALL_GRIDS = 60
ROOT = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).with_name("dask")


def load_and_refresh(session: Session, city) -> None:  # a DemoCity
    """Load a demo city into the session's transaction and store its coverage."""
    for _ in city_loader.load_city(session, city):
        pass
    refresh.refresh(session)


@pytest.fixture
def small_city(db_session: Session) -> Session:
    """A 60-grid demo city with its coverage stored (rolled back after the test)."""
    from gridsvc.geodata.demo.build import build_demo_city

    load_and_refresh(db_session, build_demo_city(seed=SMALL_SEED, grids=SMALL_GRIDS))
    return db_session


def stored_coverage(session: Session) -> pd.DataFrame:
    """The single-process results: every stored grid_coverage row."""
    rows = session.execute(
        select(
            GridCoverage.grid_code,
            GridCoverage.circle,
            GridCoverage.mode,
            GridCoverage.residents,
            GridCoverage.covered_residents,
            GridCoverage.area_m2,
            GridCoverage.covered_area_m2,
        )
    ).all()
    return pd.DataFrame(rows, columns=[*rows[0]._fields]) if rows else pd.DataFrame()


def with_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the coverage shares by residents and by area."""
    arrays = [
        frame[column].to_numpy()
        for column in ("residents", "covered_residents", "area_m2", "covered_area_m2")
    ]
    return frame.assign(
        by_residents=analysis.shares(*arrays, "population"),
        by_area=analysis.shares(*arrays, "area"),
    )


def assert_same_coverage(dask_result: pd.DataFrame, single: pd.DataFrame) -> None:
    """Grid by grid: the same rows, residents and covered residents exactly, shares to 1e-9.

    Covered areas agree to 1e-2 m², and shares by area (where no one lives) as far as that.
    """
    keys = ["grid_code", "circle", "mode"]
    left = with_shares(pd.DataFrame(dask_result)).set_index(keys).sort_index()
    right = with_shares(single).set_index(keys).sort_index()
    assert len(left) == len(right) > 0
    assert left.index.equals(right.index)
    for column in ("residents", "covered_residents"):
        assert np.array_equal(left[column].to_numpy(), right[column].to_numpy()), column
    # Shares by residents to 1e-9; by area as far as covered areas may differ (1e-2 m²: a
    # district's sub-city buffers cut pieces where the whole city buffers whole edges).
    area = right["area_m2"].to_numpy()
    slack = 1e-9 + np.divide(1e-2, area, out=np.full(len(area), np.inf), where=area > 0)
    peopled = right["residents"].to_numpy() > 0
    for column in ("by_residents", "by_area"):
        difference = np.abs(left[column].to_numpy() - right[column].to_numpy())
        allowed = np.where(peopled, 1e-9, slack) if column == "by_residents" else slack
        assert (difference <= allowed).all(), (column, difference.max())
    covered = np.abs(left["covered_area_m2"].to_numpy() - right["covered_area_m2"].to_numpy())
    assert covered.max() <= 1e-2, covered.max()
    if "coverage" in left:  # the share the results carry is the stored one
        share = np.abs(left["coverage"].to_numpy() - right["by_residents"].to_numpy())
        assert (share <= np.where(peopled, 1e-9, slack)).all(), share.max()
    assert right["covered_residents"].sum() > 0


@pytest.fixture(scope="session")
def local_client() -> Iterator[Client]:
    """A local cluster of two worker processes for the whole run."""
    with region_client(workers=2) as client:
        yield client


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def dask_scheduler() -> Iterator[str]:
    """A `dask scheduler` and two `dask worker` processes on 127.0.0.1; yield its address."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    # Each in its own process group, so the nanny's worker process goes with it.
    common = {
        "env": _worker_env(),
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "start_new_session": True,
    }
    processes = [
        subprocess.Popen(
            [
                str(DASK),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                f"127.0.0.1:{free_port()}",
            ],
            **common,
        )
    ]
    try:
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [
                        str(DASK),
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    **common,
                )
            )
        _wait_for_workers(address, 2)
        yield address
    finally:
        for process in reversed(processes):
            _signal_group(process, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(5)


def _signal_group(process: subprocess.Popen, number: int) -> None:
    try:
        os.killpg(process.pid, number)
    except ProcessLookupError:
        pass


def _wait_for_workers(address: str, count: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with Client(address, timeout=5) as client:
                client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{count} Dask workers did not join {address} in {timeout:.0f} s")


def region(*arguments: str) -> subprocess.CompletedProcess:
    """Run ``gridsvc region ...`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "gridsvc.cli", "region", *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
        check=False,
    )


def single_process(root: Path, city: layout.CityEntry):  # a GeoDataFrame
    """The same city computed here, in this one process, from the same layers."""
    inputs = partition.layers_to_inputs(layout.read_city(root, city.code))
    circles = list(load_circles().values())
    return partition.city_coverage(inputs, circles, get_settings().service_area_buffer_m, city.crs)


def expected_join(root: Path, points: gpd.GeoDataFrame) -> pd.DataFrame:
    """geopandas' own sjoin of every point with every grid; the lowest code on a shared edge."""
    grids = pd.concat(
        [
            gpd.read_parquet(layout.layer_path(root, "grids", city.code))
            .to_crs(4326)
            .assign(city=city.code)
            for city in layout.read_manifest(root)
        ],
        ignore_index=True,
    )
    joined = gpd.sjoin(points, grids, predicate="intersects", how="inner")
    joined = joined.sort_values(["point_id", "city", "code"]).drop_duplicates("point_id")
    return joined[["point_id", "city", "code"]].rename(columns={"code": "grid_code"})


def assert_join_matches(root: Path, points_dir: Path, out: Path) -> None:
    points = gpd.read_parquet(points_dir)
    assert points["point_id"].is_unique
    joined = pd.read_parquet(out / "joined").sort_values("point_id", ignore_index=True)
    expected = expected_join(root, points).reset_index(drop=True)
    assert len(joined) == len(expected) > 0.9 * len(points)
    assert np.array_equal(joined["point_id"].to_numpy(), expected["point_id"].to_numpy())
    assert (joined["city"].to_numpy() == expected["city"].to_numpy()).all()
    assert (joined["grid_code"].to_numpy() == expected["grid_code"].to_numpy()).all()
