"""The project's own PostGIS cluster under ``settings.home``, or the external server if configured.

``home`` holds ``data/``, ``socket/``, ``port`` (picked on first start), ``password`` (mode 0600)
and ``postgres.log``. initdb refuses root, so as root the server runs as ``postgres``.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import secrets
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from gridsvc.cluster.databases import (  # noqa: F401 - the cluster's public API
    EXTENSIONS,
    autocommit_connection,
    database_url,
    drop_database,
    ensure_database,
)
from gridsvc.cluster.home import (
    HOST,
    SUPERUSER,
    ClusterError,
    ClusterPaths,
    ClusterStatus,
    choose_port,
    remembered_port,
    write_secret,
)
from gridsvc.config import Settings

SERVER_ACCOUNT = "postgres"
START_TIMEOUT_SECONDS = 60
EXTERNAL_NOTICE = (
    "An external database is configured (GRIDSVC_DATABASE_URL): gridsvc does not {action} it, "
    "and runs no cluster of its own."
)


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
            [str(program), *args[1:]],
            capture_output=True,
            text=True,
            cwd=paths.home,
            env=environment,
            timeout=START_TIMEOUT_SECONDS + 30,
            check=False,
            **switch,
        )
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
