"""The embedded PostGIS cluster, run for real in temporary homes on ports of their own.

These tests never touch the project's own cluster (``.gridsvc/``) nor its port.
"""

from __future__ import annotations

import shutil
import socket
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from gridsvc.cluster import cli as cluster_cli
from gridsvc.cluster import service
from gridsvc.cluster.home import ClusterError
from gridsvc.cluster.service import ClusterStatus
from gridsvc.config import Settings, get_settings

# Far from the project's default (54329) so a running project cluster is never in the way,
# and below Linux's ephemeral range (32768-60999), where client connections take their ports.
# The module must run on one xdist worker (its group): two workers would race for this port.
TEST_FIRST_PORT = 31421
TEST_DATABASE = "gridsvc_cluster_test"

SettingsFactory = Callable[[str], Settings]


@pytest.fixture(scope="module")
def make_settings() -> Iterator[SettingsFactory]:
    """Settings for clusters in fresh homes; each cluster is stopped and deleted at the end."""
    # pytest's own tmp dirs are 0700: as root, the postgres user could not reach a home there.
    root = Path(tempfile.mkdtemp(prefix="gridsvc-cluster-test-"))
    root.chmod(0o755)
    made: list[Settings] = []

    def make(name: str) -> Settings:
        settings = Settings(home=root / name, pg_port=TEST_FIRST_PORT, database_url=None)
        made.append(settings)
        return settings

    yield make
    for settings in made:
        try:
            service.stop(settings)
        except ClusterError as error:
            print(f"could not stop the test cluster in {settings.home}: {error}")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(make_settings: SettingsFactory) -> tuple[Settings, ClusterStatus]:
    """One running cluster for the module, and what its first start reported."""
    settings = make_settings("main")
    return settings, service.start(settings)


def external_settings(make_settings: SettingsFactory, url: str) -> Settings:
    return make_settings("external-unused").model_copy(update={"database_url": url})


def test_first_start_initialises_the_cluster(cluster: tuple[Settings, ClusterStatus]) -> None:
    settings, first = cluster
    home = Path(settings.home)
    assert first.running and not first.external
    assert first.message.startswith("Started")
    assert first.port is not None and first.port >= TEST_FIRST_PORT
    assert first.pid is not None
    assert (home / "data" / "PG_VERSION").exists()
    assert int((home / "port").read_text()) == first.port
    assert stat.S_IMODE((home / "password").stat().st_mode) == 0o600
    assert (home / "password").read_text().strip()


def test_start_again_is_idempotent(cluster: tuple[Settings, ClusterStatus]) -> None:
    settings, first = cluster
    again = service.start(settings)
    assert again.running
    assert "already running" in again.message
    assert (again.port, again.pid) == (first.port, first.pid)


def test_status_of_a_running_cluster(cluster: tuple[Settings, ClusterStatus]) -> None:
    settings, first = cluster
    current = service.status(settings)
    assert current.running and not current.external
    assert (current.port, current.pid) == (first.port, first.pid)
    assert current.data_dir == Path(settings.home) / "data"


def test_url_reaches_postgis_in_an_ensured_database(
    cluster: tuple[Settings, ClusterStatus],
) -> None:
    settings, first = cluster
    url = service.ensure_database(settings, TEST_DATABASE)
    assert url == service.database_url(settings, TEST_DATABASE)
    parsed = make_url(url)
    assert (parsed.drivername, parsed.username, parsed.host) == (
        "postgresql+psycopg",
        "gridsvc",
        "127.0.0.1",
    )
    assert parsed.port == first.port and parsed.database == TEST_DATABASE
    assert parsed.password == (Path(settings.home) / "password").read_text().strip()
    assert service.ensure_database(settings, TEST_DATABASE) == url  # idempotent
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert "POSTGIS=" in connection.scalar(text("SELECT postgis_full_version()"))
            assert connection.scalar(text("SELECT pgr_version()"))
            assert connection.scalar(text("SHOW listen_addresses")) == "127.0.0.1"
    finally:
        engine.dispose()
    # The project's database was made on start.
    assert make_url(service.database_url(settings)).database == settings.database_name
    service.ensure_database(settings, settings.database_name)


def test_drop_database(cluster: tuple[Settings, ClusterStatus]) -> None:
    settings, _ = cluster
    service.ensure_database(settings, "gridsvc_cluster_drop_me")
    service.drop_database(settings, "gridsvc_cluster_drop_me")
    service.drop_database(settings, "gridsvc_cluster_drop_me")  # already gone: fine
    engine = create_engine(service.database_url(settings, "gridsvc_cluster_drop_me"))
    with pytest.raises(OperationalError, match="does not exist"):
        engine.connect()
    engine.dispose()
    with pytest.raises(ClusterError, match="Refusing"):
        service.drop_database(settings, "postgres")


def test_second_home_gets_another_port(
    cluster: tuple[Settings, ClusterStatus], make_settings: SettingsFactory
) -> None:
    _, first = cluster
    other = make_settings("second-checkout")
    started = service.start(other)
    assert started.running
    assert started.port != first.port
    assert service.status(cluster[0]).running
    service.stop(other)


def test_stop_status_and_restart_keep_the_port(make_settings: SettingsFactory) -> None:
    settings = make_settings("restart")
    port = service.start(settings).port
    stopped = service.stop(settings)
    assert not stopped.running and stopped.message.startswith("Stopped")
    current = service.status(settings)
    assert not current.running and current.pid is None
    assert current.port == port
    assert "not running" in service.stop(settings).message  # idempotent
    restarted = service.start(settings)
    assert restarted.running and restarted.port == port
    service.stop(settings)


def test_remembered_port_taken_by_another_program(make_settings: SettingsFactory) -> None:
    settings = make_settings("port-taken")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        Path(settings.home).mkdir()
        (Path(settings.home) / "port").write_text(f"{port}\n")
        with pytest.raises(ClusterError, match=f"Port {port}.*taken by another program"):
            service.start(settings)
    assert not service.status(settings).running


def test_external_database_url_starts_nothing(
    cluster: tuple[Settings, ClusterStatus], make_settings: SettingsFactory
) -> None:
    # The running test cluster plays the external server; given as a plain postgresql:// URL.
    url = service.database_url(cluster[0]).replace("postgresql+psycopg://", "postgresql://")
    settings = external_settings(make_settings, url)
    started = service.start(settings)
    assert started.external and "external database" in started.message
    assert not Path(settings.home).exists()
    assert "external database" in service.stop(settings).message
    assert service.status(settings).running
    assert service.database_url(settings) == url.replace("postgresql://", "postgresql+psycopg://")
    ensured = service.ensure_database(settings, "gridsvc_cluster_external")
    assert make_url(ensured).database == "gridsvc_cluster_external"
    engine = create_engine(ensured)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT postgis_full_version()"))
    finally:
        engine.dispose()
    service.drop_database(settings, "gridsvc_cluster_external")
    unreachable = external_settings(make_settings, make_url(url).set(port=1).render_as_string())
    assert not service.status(unreachable).running


@pytest.fixture
def use_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Settings], None]]:
    """Point the CLI's ``get_settings()`` at the given settings' home and first port."""

    def use(settings: Settings) -> None:
        monkeypatch.setenv("GRIDSVC_HOME", str(settings.home))
        monkeypatch.setenv("GRIDSVC_PG_PORT", str(settings.pg_port))
        monkeypatch.delenv("GRIDSVC_DATABASE_URL", raising=False)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_cli_on_a_running_cluster(
    cluster: tuple[Settings, ClusterStatus], use_settings: Callable[[Settings], None]
) -> None:
    settings, first = cluster
    use_settings(settings)
    runner = CliRunner()
    status = runner.invoke(cluster_cli.app, ["status"])
    assert status.exit_code == 0 and "running" in status.output and str(first.port) in status.output
    url = runner.invoke(cluster_cli.app, ["url", "--database", TEST_DATABASE])
    assert url.exit_code == 0
    assert url.output.strip() == service.database_url(settings, TEST_DATABASE)
    start = runner.invoke(cluster_cli.app, ["start"])
    assert start.exit_code == 0 and "already running" in start.output


def test_cli_stopped_and_errors(
    make_settings: SettingsFactory, use_settings: Callable[[Settings], None]
) -> None:
    use_settings(make_settings("never-started"))
    runner = CliRunner()
    status = runner.invoke(cluster_cli.app, ["status"])
    assert status.exit_code == 3 and "not set up" in status.output
    stop = runner.invoke(cluster_cli.app, ["stop"])
    assert stop.exit_code == 0 and "not running" in stop.output
    for command in (["url"], ["migrate"]):
        failed = runner.invoke(cluster_cli.app, command)
        assert failed.exit_code == 1, failed.output
        assert "gridsvc db start" in failed.output
        assert "Traceback" not in failed.output
