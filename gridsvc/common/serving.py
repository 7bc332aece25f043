"""How ``gridsvc serve`` runs: worker processes, their connection pools, uvicorn's options.

One worker per core by default: a worker is one Python process, and one process uses one
core at a time (the GIL), so fewer leave cores idle and more only take turns. Each worker
has its own pool of connections, and every connection is a PostgreSQL backend: all the
pools together must fit the server's ``max_connections``, less the slots kept for
superusers and those kept for everything else (the CLI, migrations, psql, backups).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from gridsvc.common.access_log import log_config
from gridsvc.config import Settings


def cores() -> int:
    """Cores this process may run on (its CPU affinity), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def forked_processes(configured: int) -> int:
    """Return how many processes forked work may use: ``configured``, or one per core at 0.

    One outside the main thread (a server's request thread, say): a fork there would copy
    the other threads' locks as they are, and the work runs in that thread instead.
    """
    if threading.current_thread() is not threading.main_thread():
        return 1
    return configured or cores()


def worker_count(settings: Settings) -> int:
    """``GRIDSVC_WORKERS``, or one per core when it is 0 (the default)."""
    return settings.workers or cores()


def fit_pools(
    workers: int, pool_size: int, max_overflow: int, available: int | None
) -> tuple[int, int]:
    """Return (pool size, overflow) per worker so that all workers use at most ``available``.

    ``available`` is None when the server's limit is unknown: the settings stand. Raises
    ValueError when not even one connection per worker fits.
    """
    if available is None or workers * (pool_size + max_overflow) <= available:
        return pool_size, max_overflow
    per_worker = available // workers
    if per_worker < 1:
        raise ValueError(
            f"{workers} workers need at least {workers} database connections, but the server "
            f"leaves {max(available, 0)}: set GRIDSVC_WORKERS lower, or raise max_connections"
        )
    size = min(pool_size, per_worker)
    return size, min(max_overflow, per_worker - size)


@dataclass(frozen=True)
class ServerPlan:
    """What ``gridsvc serve`` runs: workers and each one's pool, and why."""

    workers: int
    pool_size: int
    max_overflow: int
    max_connections: int | None
    superuser_reserved: int
    reserved: int

    def describe(self) -> str:
        """One line for the operator: the workers, the pools and the limit they fit."""
        workers = f"{self.workers} worker{'s' if self.workers > 1 else ''}"
        pools = (
            f"each with a pool of {self.pool_size} database connections "
            f"(+{self.max_overflow} under load)"
        )
        if self.max_connections is None:
            return f"{workers}, {pools}; the server's max_connections could not be read"
        return (
            f"{workers}, {pools}: at most {self.workers * (self.pool_size + self.max_overflow)} "
            f"of the server's max_connections {self.max_connections} (less "
            f"{self.superuser_reserved} for superusers and {self.reserved} kept for others)"
        )


def connection_limits(url: str) -> tuple[int, int] | None:
    """Return the server's ``max_connections`` and ``superuser_reserved_connections``, or None."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT current_setting('max_connections')::int, "
                    "current_setting('superuser_reserved_connections')::int"
                )
            ).one()
        return int(row[0]), int(row[1])
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def plan(settings: Settings, limits: tuple[int, int] | None) -> ServerPlan:
    """Workers and pool sizes for ``settings`` on a server with ``limits`` (None: unknown)."""
    workers = worker_count(settings)
    available = None
    if limits is not None:
        available = limits[0] - limits[1] - settings.db_reserved_connections
    size, overflow = fit_pools(workers, settings.db_pool_size, settings.db_max_overflow, available)
    max_connections, superuser = limits if limits is not None else (None, 0)
    return ServerPlan(
        workers, size, overflow, max_connections, superuser, settings.db_reserved_connections
    )


def uvicorn_options(settings: Settings, workers: int = 1) -> dict[str, Any]:
    """Return what ``gridsvc serve`` passes to ``uvicorn.run`` besides app, host and port.

    http and loop stay "auto": uvicorn[standard] brings httptools and uvloop, which it then
    picks (the C HTTP parser and event loop).
    """
    return {
        "workers": workers,
        "log_level": "info",
        "log_config": log_config(),  # tokens and secrets in query strings become ***
        "access_log": settings.access_log,
        "server_header": False,
        "timeout_keep_alive": settings.keepalive_timeout_s,
    }
