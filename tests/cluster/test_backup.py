"""`gridsvc db backup` / `restore` on a populated database: rows and photo bytes come back."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gridsvc.auth.tokens import ANONYMOUS
from gridsvc.cli import app
from gridsvc.cluster import service as cluster_service
from gridsvc.config import Settings, get_settings
from gridsvc.issues import service as issues_service
from gridsvc.issues.models import IssuePhoto
from tests.conftest import TEST_DATABASE, migrated_database
from tests.factories import make_test_city
from tests.issues.test_deadlines_service import submission

BACKUP_DATABASE = f"{TEST_DATABASE}_backup"
runner = CliRunner()


def add_photo(session: Session, photos_dir: Path, issue_id: int, content: bytes) -> None:
    relative = f"{issue_id}/{hashlib.sha256(content).hexdigest()}.jpg"
    (photos_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    (photos_dir / relative).write_bytes(content)
    session.add(
        IssuePhoto(
            issue_id=issue_id, path=relative, media_type="image/jpeg", size_bytes=len(content),
            width=1, height=1, sha256=hashlib.sha256(content).hexdigest(),
        )
    )  # fmt: skip


@pytest.fixture
def populated(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Settings, str]]:
    """The project's database (renamed for the test): a city and two issues with photos."""
    monkeypatch.setenv("GRIDSVC_DATABASE_NAME", BACKUP_DATABASE)
    monkeypatch.setenv("GRIDSVC_PHOTOS_DIR", str(tmp_path / "photos"))
    get_settings.cache_clear()
    settings = get_settings()
    url = migrated_database(settings, BACKUP_DATABASE)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        make_test_city(session)
        for number in range(2):
            issue_id = issues_service.submit(session, submission(), ANONYMOUS)["id"]
            session.flush()
            add_photo(session, settings.photos_dir, issue_id, bytes([number]) * 5000 + b"\xff")
    engine.dispose()
    try:
        yield settings, url
    finally:
        cluster_service.drop_database(settings, BACKUP_DATABASE)
        get_settings.cache_clear()


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names()) - {"spatial_ref_sys"}
        with engine.connect() as connection:
            return {
                table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in sorted(tables)
            }
    finally:
        engine.dispose()


def photo_bytes(photos_dir: Path) -> dict[str, bytes]:
    return {
        path.relative_to(photos_dir).as_posix(): path.read_bytes()
        for path in photos_dir.rglob("*")
        if path.is_file()
    }


def test_backup_wipe_restore(populated: tuple[Settings, str], tmp_path: Path) -> None:
    settings, url = populated
    before, photos = row_counts(url), photo_bytes(settings.photos_dir)
    assert before["issues"] == 2 and before["grids"] > 0 and len(photos) == 2
    archive = tmp_path / "city.tar"

    made = runner.invoke(app, ["db", "backup", str(archive)])
    assert made.exit_code == 0, made.output
    assert "dumping database" in made.output and "2 photos" in made.output

    refused = runner.invoke(app, ["db", "restore", str(archive)])
    assert refused.exit_code == 1 and "not empty" in refused.output and "--force" in refused.output

    cluster_service.drop_database(settings, BACKUP_DATABASE)  # wipe database and photos
    shutil.rmtree(settings.photos_dir)
    restored = runner.invoke(app, ["db", "restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "restored database" in restored.output
    assert row_counts(url) == before
    assert photo_bytes(settings.photos_dir) == photos


def test_restore_force_replaces_a_changed_database(
    populated: tuple[Settings, str], tmp_path: Path
) -> None:
    settings, url = populated
    before = row_counts(url)
    archive = tmp_path / "city.tar"
    assert runner.invoke(app, ["db", "backup", str(archive)]).exit_code == 0
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        issues_service.submit(session, submission(), ANONYMOUS)  # made after the backup
    engine.dispose()
    assert row_counts(url)["issues"] == 3

    replaced = runner.invoke(app, ["db", "restore", str(archive), "--force"])
    assert replaced.exit_code == 0, replaced.output
    assert row_counts(url) == before


def test_restore_refuses_what_is_no_backup(populated, tmp_path: Path) -> None:
    other = tmp_path / "other.tar"
    other.write_bytes(b"not a tar at all")
    result = runner.invoke(app, ["db", "restore", str(other), "--force"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Cannot read" in result.output
