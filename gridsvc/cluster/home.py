"""The embedded cluster's home folder: its paths, remembered port and password, and errors."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from gridsvc.config import Settings

SUPERUSER = "gridsvc"
HOST = "127.0.0.1"
DRIVER = "postgresql+psycopg"
PORT_SEARCH_SPAN = 100
# The system-wide PostgreSQL's port: never ours, even when free.
SYSTEM_PORT = 5432


class ClusterError(RuntimeError):
    """A cluster operation failed; the message says what the user can do about it."""


@dataclass(frozen=True)
class ClusterStatus:
    """Whether the database server runs, where, and what the last operation did."""

    running: bool
    port: int | None
    data_dir: Path | None
    pid: int | None
    external: bool = False
    message: str = ""
    log_file: Path | None = None


class ClusterPaths:
    """Where the embedded cluster in ``home`` keeps its pieces."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home).absolute()
        self.data_dir = self.home / "data"
        self.socket_dir = self.home / "socket"
        self.port_file = self.home / "port"
        self.password_file = self.home / "password"
        self.log_file = self.home / "postgres.log"


def port_is_free(port: int) -> bool:
    """Tell whether the server could listen on ``HOST:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The server sets SO_REUSEADDR too: a port in TIME_WAIT is free for it.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def remembered_port(paths: ClusterPaths) -> int | None:
    """Return the port written on first start, if any."""
    try:
        return int(paths.port_file.read_text().strip())
    except (OSError, ValueError):
        return None


def choose_port(settings: Settings, paths: ClusterPaths) -> int:
    """Return the remembered port, or remember the first free one from ``settings.pg_port`` on."""
    port = remembered_port(paths)
    if port is not None:
        if not port_is_free(port):
            raise ClusterError(
                f"Port {port}, remembered in {paths.port_file}, is taken by another program on "
                f"{HOST}. Stop that program, or delete {paths.port_file} to pick a new port."
            )
        return port
    candidates = range(settings.pg_port, min(settings.pg_port + PORT_SEARCH_SPAN, 65536))
    for port in candidates:
        if port != SYSTEM_PORT and port_is_free(port):
            paths.port_file.write_text(f"{port}\n")
            return port
    raise ClusterError(
        f"No free port in {candidates.start}-{candidates.stop - 1} on {HOST}; "
        "set GRIDSVC_PG_PORT to another first port."
    )


def read_password(paths: ClusterPaths) -> str | None:
    """Return the superuser's password kept in ``home/password``, if the cluster was set up."""
    try:
        return paths.password_file.read_text().strip()
    except FileNotFoundError:
        return None


def write_secret(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` with mode 0600 from the first byte on."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
