"""`gridsvc serve`'s defaults: one worker per core, pools that fit max_connections."""

from __future__ import annotations

import itertools
import os

import pytest
from pydantic import ValidationError

from gridsvc.common import serving
from gridsvc.config import Settings


def test_workers_default_to_the_cores_this_process_may_use(monkeypatch) -> None:
    monkeypatch.delenv("GRIDSVC_WORKERS", raising=False)
    assert Settings().workers == 0
    assert serving.worker_count(Settings()) == len(os.sched_getaffinity(0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5})
    assert serving.worker_count(Settings()) == 6
    monkeypatch.setenv("GRIDSVC_WORKERS", "3")
    assert serving.worker_count(Settings()) == 3


def test_settings_have_defaults_and_refuse_nonsense(monkeypatch) -> None:
    for name in ("WORKERS", "DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_RESERVED_CONNECTIONS",
                 "ACCESS_LOG"):  # fmt: skip
        monkeypatch.delenv(f"GRIDSVC_{name}", raising=False)
    settings = Settings()
    assert (settings.db_pool_size, settings.db_max_overflow) == (20, 0)
    assert settings.db_reserved_connections == 10 and settings.access_log is True
    monkeypatch.setenv("GRIDSVC_ACCESS_LOG", "false")
    assert Settings().access_log is False
    assert serving.uvicorn_options(Settings(), 2)["access_log"] is False
    for name, value in (("WORKERS", "-1"), ("DB_POOL_SIZE", "0"), ("DB_MAX_OVERFLOW", "-2")):
        monkeypatch.setenv(f"GRIDSVC_{name}", value)
        with pytest.raises(ValidationError, match=name.lower()):
            Settings()
        monkeypatch.delenv(f"GRIDSVC_{name}")


def test_pools_that_fit_stay_as_set() -> None:
    assert serving.fit_pools(2, 10, 10, 87) == (10, 10)
    assert serving.fit_pools(16, 10, 10, None) == (10, 10)  # limit unknown


def test_pools_shrink_to_fit_every_combination() -> None:
    for workers, size, overflow, available in itertools.product(
        range(1, 33), (1, 5, 10), (0, 10, 20), range(0, 120, 7)
    ):
        if available < workers:
            with pytest.raises(ValueError, match="GRIDSVC_WORKERS"):
                serving.fit_pools(workers, size, overflow, available)
            continue
        fitted_size, fitted_overflow = serving.fit_pools(workers, size, overflow, available)
        assert 1 <= fitted_size <= size and 0 <= fitted_overflow <= overflow
        assert workers * (fitted_size + fitted_overflow) <= available
        if workers * (size + overflow) <= available:
            assert (fitted_size, fitted_overflow) == (size, overflow)
        else:  # no connection is left unused that a worker could have had
            assert fitted_size + fitted_overflow == min(available // workers, size + overflow)


def test_plan_on_this_machine_with_postgres_defaults(monkeypatch) -> None:
    monkeypatch.setenv("GRIDSVC_WORKERS", "16")
    plan = serving.plan(Settings(), (100, 3))  # PostgreSQL's default max_connections
    assert plan.workers == 16 and 16 * (plan.pool_size + plan.max_overflow) <= 100 - 3 - 10
    assert (plan.pool_size, plan.max_overflow) == (5, 0)
    assert "max_connections 100" in plan.describe() and "16 workers" in plan.describe()
    unknown = serving.plan(Settings(), None)
    assert (unknown.pool_size, unknown.max_overflow) == (20, 0)
    assert "could not be read" in unknown.describe()
