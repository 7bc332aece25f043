"""The project's own PostGIS cluster under ``settings.home``, or the external server if configured.

``home`` holds ``data/``, ``socket/``, ``port`` (picked on first start), ``password`` (mode 0600)
and ``postgres.log``. initdb refuses root, so as root the server runs as ``postgres``.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import secrets
import socket
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from gridsvc.config import Settings

SUPERUSER = "gridsvc"
SERVER_ACCOUNT = "postgres"
HOST = "127.0.0.1"
DRIVER = "postgresql+psycopg"
EXTENSIONS = ("postgis", "pgrouting")
START_TIMEOUT_SECONDS = 60
PORT_SEARCH_SPAN = 100
# The system-wide PostgreSQL's port: never ours, even when free.
SYSTEM_PORT = 5432
PROTECTED_DATABASES = {"postgres", "template0", "template1"}
EXTERNAL_NOTICE = (
    "An external database is configured (GRIDSVC_DATABASE_URL): gridsvc does not {action} it, "
    "and runs no cluster of its own."
)


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


# --- running the server's programs ----------------------------------------------------------


def server_account() -> pwd.struct_passwd | None:
    """Return the account the server runs as: ``postgres`` when we are root, else None (us)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise ClusterError(
            "PostgreSQL refuses to run as root and there is no 'postgres' system user: install "
            "Debian's postgresql-15 package, or run gridsvc as an ordinary user."
        ) from None


def run_server_program(settings: Settings, args: list[str], failure: str) -> None:
    """Run a ``settings.pg_bin`` program (as ``postgres`` if root); raise ``failure`` on error."""
    program = Path(settings.pg_bin) / args[0]
    if not program.exists():
        raise ClusterError(
            f"{program} not found: install Debian's postgresql-15, postgresql-15-postgis-3 and "
            "postgresql-15-pgrouting, or point GRIDSVC_PG_BIN at PostgreSQL's bin directory."
        )
    account = server_account()
    switch = {}
    if account is not None:
        groups = os.getgrouplist(account.pw_name, account.pw_gid)
        switch = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": groups}
    # The caller's PG* variables (PGPORT, PGDATA...) must not redirect our programs.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    paths = ClusterPaths(settings.home)
    try:
        result = subprocess.run(
            [str(program), *args[1:]], capture_output=True, text=True, cwd=paths.home,
            env=environment, timeout=START_TIMEOUT_SECONDS + 30, check=False, **switch,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ClusterError(f"{failure}: {args[0]} hangs; see {paths.log_file}.") from None
    if result.returncode != 0:
        log = paths.log_file.read_text(errors="replace").splitlines()[-12:]  # made by prepare_home
        tail = f"\nLast lines of {paths.log_file}:\n" + "\n".join(log) if log else ""
        raise ClusterError(f"{failure}:\n{(result.stdout + result.stderr).strip()}{tail}")


def give_to_server(path: Path) -> None:
    """Hand ``path`` to the server account when we are root."""
    account = server_account()
    if account is not None:
        os.chown(path, account.pw_uid, account.pw_gid)


def let_server_reach(home: Path) -> list[Path]:
    """As root, let ``postgres`` reach ``home`` (others +x where needed); return what changed."""
    account = server_account()
    if account is None:
        return []
    groups = os.getgrouplist(account.pw_name, account.pw_gid)
    changed = []
    for directory in [*reversed(home.parents), home]:
        info = directory.stat()
        if info.st_uid == account.pw_uid:
            needed = stat.S_IXUSR
        else:
            needed = stat.S_IXGRP if info.st_gid in groups else stat.S_IXOTH
        if not info.st_mode & needed:
            directory.chmod(info.st_mode | stat.S_IXOTH)
            changed.append(directory)
    return changed


@contextmanager
def home_lock(paths: ClusterPaths) -> Iterator[None]:
    """Serialise starting and stopping one cluster between processes."""
    with (paths.home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


# --- port and password ----------------------------------------------------------------------


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


# --- the embedded cluster's life ------------------------------------------------------------


def prepare_home(paths: ClusterPaths) -> list[Path]:
    """Create ``home``, the server's directories and its log; return the directories opened up."""
    paths.home.mkdir(parents=True, exist_ok=True)
    opened = let_server_reach(paths.home)
    for directory, mode in ((paths.data_dir, 0o700), (paths.socket_dir, 0o755)):
        if not directory.exists():
            directory.mkdir(mode=mode)
            give_to_server(directory)
    if not paths.log_file.exists():
        paths.log_file.touch(mode=0o640)
        give_to_server(paths.log_file)
    return opened


def is_initialised(paths: ClusterPaths) -> bool:
    """Tell whether initdb has made the cluster."""
    return (paths.data_dir / "PG_VERSION").exists()


def initialise(settings: Settings, paths: ClusterPaths) -> None:
    """Run initdb: UTF-8, superuser ``gridsvc`` with a new password, scram-sha-256 everywhere."""
    password = secrets.token_urlsafe(24)
    write_secret(paths.password_file, password + "\n")
    # initdb reads the password from a file, which as root the server account must open.
    password_copy = paths.socket_dir / ".initdb-password"
    write_secret(password_copy, password + "\n")
    give_to_server(password_copy)
    try:
        run_server_program(
            settings,
            ["initdb", "-D", str(paths.data_dir), "-U", SUPERUSER, f"--pwfile={password_copy}"]
            + ["-E", "UTF8", "--locale=C.UTF-8"]
            + ["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"],
            failure=f"initdb failed for {paths.data_dir} (empty it if it holds nothing you need)",
        )
    finally:
        password_copy.unlink(missing_ok=True)
    with (paths.data_dir / "postgresql.conf").open("a") as conf:
        conf.write("\n# Written by gridsvc at each start.\ninclude_if_exists = 'gridsvc.conf'\n")


def write_server_conf(paths: ClusterPaths, port: int) -> None:
    """Listen on ``HOST:port`` only, plus a unix socket inside ``home``."""
    socket_dir = str(paths.socket_dir).replace("'", "''")
    # A unix socket's path has at most 107 bytes; a deeper home gets TCP only.
    if len(f"{paths.socket_dir}/.s.PGSQL.{port}".encode()) > 107:
        socket_dir = ""
    conf = paths.data_dir / "gridsvc.conf"
    conf.write_text(
        f"listen_addresses = '{HOST}'\nport = {port}\nunix_socket_directories = '{socket_dir}'\n"
    )
    give_to_server(conf)


def running_server(paths: ClusterPaths) -> tuple[int, int] | None:
    """Return PID and port of the cluster's live postmaster (from ``postmaster.pid``), or None."""
    try:
        lines = (paths.data_dir / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        # The PID file of a crashed server may name a PID that another program has now.
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError, ValueError):
        return None
    return (pid, port) if b"postgres" in command else None


def launch(settings: Settings, paths: ClusterPaths) -> None:
    """Run ``pg_ctl start`` and wait until the server accepts connections."""
    run_server_program(
        settings,
        ["pg_ctl", "start", "-w", "-t", str(START_TIMEOUT_SECONDS), "-D", str(paths.data_dir)]
        + ["-l", str(paths.log_file)],
        failure=f"PostgreSQL did not start within {START_TIMEOUT_SECONDS} s; see {paths.log_file}",
    )


def start(settings: Settings) -> ClusterStatus:
    """Start the embedded cluster (made on first use) and create the project's database in it."""
    if settings.database_url:
        return replace(status(settings), message=EXTERNAL_NOTICE.format(action="start"))
    paths = ClusterPaths(settings.home)
    opened = prepare_home(paths)
    with home_lock(paths):
        current = status(settings)
        if current.running:
            message = f"The cluster is already running on port {current.port} (PID {current.pid})."
        else:
            port = choose_port(settings, paths)
            if not is_initialised(paths):
                initialise(settings, paths)
            write_server_conf(paths, port)
            launch(settings, paths)
            current = status(settings)
            message = f"Started the cluster on port {current.port} (PID {current.pid})."
    ensure_database(settings, settings.database_name)
    message += f" Database {settings.database_name} is ready; data in {paths.data_dir}."
    if opened:
        names = ", ".join(map(str, opened))
        message += f" Gave others search permission on {names} for the postgres user."
    return replace(current, message=message)


def stop(settings: Settings) -> ClusterStatus:
    """Stop the embedded cluster (fast shutdown: open sessions are ended)."""
    if settings.database_url:
        return replace(status(settings), message=EXTERNAL_NOTICE.format(action="stop"))
    paths = ClusterPaths(settings.home)
    if not paths.home.exists():
        return replace(status(settings), message="The cluster is not running.")
    with home_lock(paths):
        current = status(settings)
        if not current.running:
            return replace(current, message="The cluster is not running.")
        run_server_program(
            settings,
            ["pg_ctl", "stop", "-m", "fast", "-w", "-t", str(START_TIMEOUT_SECONDS)]
            + ["-D", str(paths.data_dir)],
            failure=f"PostgreSQL did not stop; see {paths.log_file}",
        )
    return replace(status(settings), message=f"Stopped the cluster (port {current.port}).")


def status(settings: Settings) -> ClusterStatus:
    """Tell whether the server runs: the cluster's PID file, or a connection to the external one."""
    if settings.database_url:
        url = make_url(database_url(settings))
        try:
            with autocommit_connection(url.render_as_string(hide_password=False)) as connection:
                connection.execute(text("SELECT 1"))
        except ClusterError as error:
            return ClusterStatus(False, url.port, None, None, external=True, message=str(error))
        message = f"{url.render_as_string(hide_password=True)} accepts connections."
        return ClusterStatus(True, url.port, None, None, external=True, message=message)
    paths = ClusterPaths(settings.home)
    server = running_server(paths)
    if server is None:
        state = "stopped" if is_initialised(paths) else "not set up yet (`gridsvc db start`)"
        port = remembered_port(paths)
        return ClusterStatus(False, port, paths.data_dir, None, False, state, paths.log_file)
    pid, port = server
    return ClusterStatus(True, port, paths.data_dir, pid, False, "running", paths.log_file)


# --- databases ------------------------------------------------------------------------------


def database_url(settings: Settings, database: str | None = None) -> str:
    """Return the SQLAlchemy URL of ``database`` (default: the project's) on the server in use."""
    if settings.database_url:
        url = make_url(settings.database_url)
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername=DRIVER)
        if database:
            url = url.set(database=database)
        return url.render_as_string(hide_password=False)
    paths = ClusterPaths(settings.home)
    port, password = remembered_port(paths), read_password(paths)
    if port is None or password is None:
        raise ClusterError(
            f"The embedded cluster in {paths.home} is not set up yet: run `gridsvc db start` "
            "(or set GRIDSVC_DATABASE_URL to use another server)."
        )
    database = database or settings.database_name
    url = URL.create(DRIVER, SUPERUSER, password, HOST, port, database)
    return url.render_as_string(hide_password=False)


@contextmanager
def autocommit_connection(url: str) -> Iterator[Connection]:
    """Connect outside any transaction (as CREATE DATABASE needs); errors become ClusterError."""
    engine = create_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 10}
    )
    try:
        with engine.connect() as connection:
            yield connection
    except SQLAlchemyError as error:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(error, "orig", None) or error).strip()
        raise ClusterError(f"{shown}: {reason}") from None
    finally:
        engine.dispose()


def ensure_database(settings: Settings, name: str) -> str:
    """Create database ``name`` with PostGIS and pgRouting unless there; return its URL."""
    with autocommit_connection(database_url(settings, "postgres")) as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            quoted = connection.dialect.identifier_preparer.quote(name)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
    url = database_url(settings, name)
    try:
        with autocommit_connection(url) as connection:
            for extension in EXTENSIONS:
                connection.execute(text(f"CREATE EXTENSION IF NOT EXISTS {extension} CASCADE"))
    except ClusterError as error:
        raise ClusterError(
            f"{error}\nThe server needs PostGIS 3 and pgRouting (Debian: postgresql-15-postgis-3, "
            "postgresql-15-pgrouting) and a user allowed to create extensions."
        ) from None
    return url


def drop_database(settings: Settings, name: str) -> None:
    """Drop database ``name`` if it exists, ending its open sessions."""
    if name in PROTECTED_DATABASES:
        raise ClusterError(f"Refusing to drop the server's own database {name}.")
    with autocommit_connection(database_url(settings, "postgres")) as connection:
        quoted = connection.dialect.identifier_preparer.quote(name)
        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
