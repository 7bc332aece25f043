"""Backups of the project's database and photo files: one tar with a pg_dump and the photos.

The tar holds ``backup.json`` (what is inside), ``database.dump`` (pg_dump's custom format,
restored with pg_restore) and ``photos/`` (the files under ``GRIDSVC_PHOTOS_DIR``, which the
database's ``issue_photos`` rows name by relative path). pg_dump and pg_restore are
clients: they connect over TCP with the password, so they run as the calling user, root
included (only the embedded cluster's server must run as ``postgres``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from gridsvc import __version__
from gridsvc.cluster.databases import (
    autocommit_connection,
    database_exists,
    database_url,
    drop_database,
    ensure_database,
)
from gridsvc.cluster.home import ClusterError
from gridsvc.config import Settings

MANIFEST, DUMP, PHOTOS = "backup.json", "database.dump", "photos"
FORMAT = "gridsvc-backup-1"
Progress = Callable[[str], None]


def client_program(settings: Settings, name: str) -> str:
    """Path of pg_dump or pg_restore: ``GRIDSVC_PG_BIN``'s, else the one on PATH."""
    candidate = Path(settings.pg_bin) / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise ClusterError(
            f"{name} not found in {settings.pg_bin} nor on PATH: install Debian's "
            "postgresql-client-15, or point GRIDSVC_PG_BIN at PostgreSQL's bin directory."
        )
    return found


def run_client(settings: Settings, name: str, url: str, args: list[str]) -> None:
    """Run pg_dump/pg_restore against ``url``; the password goes by environment, not argv."""
    parsed = make_url(url)
    # A URL without its password (rendering it would write "***" in the password's place).
    conninfo = URL.create(
        "postgresql",
        parsed.username,
        None,
        parsed.host,
        parsed.port,
        parsed.database,
        parsed.query,
    ).render_as_string(hide_password=False)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    if parsed.password:
        environment["PGPASSWORD"] = str(parsed.password)
    command = [client_program(settings, name), f"--dbname={conninfo}", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if result.returncode != 0:
        shown = parsed.render_as_string(hide_password=True)
        raise ClusterError(f"{name} failed for {shown}:\n{result.stderr.strip()}")


def photo_files(photos_dir: Path) -> Iterator[Path]:
    """Every photo file under ``photos_dir`` (not the partial files of a write under way)."""
    if photos_dir.is_dir():
        for path in sorted(photos_dir.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                yield path


def schema_revision(url: str) -> str | None:
    """Return the database's Alembic revision, or None if it has no schema."""
    with autocommit_connection(url) as connection:
        if connection.scalar(text("SELECT to_regclass('public.alembic_version')")) is None:
            return None
        return connection.scalar(text("SELECT version_num FROM alembic_version"))


def backup(settings: Settings, target: Path, progress: Progress) -> dict[str, object]:
    """Write the project's database and photos to the tar ``target``; return its manifest."""
    url = database_url(settings)
    photos_dir = Path(settings.photos_dir)
    target = Path(target).absolute()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".gridsvc-backup-") as work:
        dump = Path(work) / DUMP
        progress(f"dumping database {settings.database_name} (pg_dump)...")
        run_client(settings, "pg_dump", url, ["--format=custom", "--no-owner", f"--file={dump}"])
        photos = list(photo_files(photos_dir))
        manifest = {
            "format": FORMAT,
            "gridsvc": __version__,
            "database": settings.database_name,
            "revision": schema_revision(url),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database_bytes": dump.stat().st_size,
            "photos": len(photos),
            "photo_bytes": sum(path.stat().st_size for path in photos),
        }
        (Path(work) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        partial = Path(work) / "backup.tar"
        with tarfile.open(partial, "w") as archive:
            archive.add(Path(work) / MANIFEST, MANIFEST)
            archive.add(dump, DUMP)
            for number, path in enumerate(photos, start=1):
                archive.add(path, f"{PHOTOS}/{path.relative_to(photos_dir).as_posix()}")
                if number % 500 == 0:
                    progress(f"photos: {number}/{len(photos)}")
        partial.replace(target)  # never half a backup under the final name
    progress(
        f"wrote {target}: database {manifest['database_bytes']:,} bytes, "
        f"{manifest['photos']} photos ({manifest['photo_bytes']:,} bytes)"
    )
    return manifest


def holds_data(settings: Settings) -> bool:
    """Whether the project's database exists and has any table besides PostGIS's own."""
    if not database_exists(settings, settings.database_name):
        return False
    query = text(
        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
        "('pg_catalog', 'information_schema', 'topology', 'tiger') "
        "AND tablename <> 'spatial_ref_sys'"
    )
    with autocommit_connection(database_url(settings)) as connection:
        return bool(connection.scalar(query))


def read_manifest(archive: tarfile.TarFile, source: Path) -> dict[str, object]:
    """Return the backup's manifest; ClusterError if ``source`` is no gridsvc backup."""
    try:
        member = archive.extractfile(MANIFEST)
        manifest = json.loads(member.read()) if member else {}
    except (KeyError, ValueError):
        manifest = {}
    if manifest.get("format") != FORMAT:
        raise ClusterError(f"{source} is not a gridsvc backup (no {MANIFEST} of {FORMAT}).")
    return manifest


def restore(settings: Settings, source: Path, force: bool, progress: Progress) -> dict:
    """Restore a backup into the project's database (empty, or replaced with ``force``)."""
    name = settings.database_name
    try:
        archive = tarfile.open(source, "r")
    except (OSError, tarfile.TarError) as error:
        raise ClusterError(f"Cannot read {source}: {error}") from None
    with archive, tempfile.TemporaryDirectory(prefix=".gridsvc-restore-") as work:
        manifest = read_manifest(archive, source)
        if holds_data(settings):
            if not force:
                raise ClusterError(
                    f"Database {name} is not empty: restoring would replace it. Use --force "
                    "to replace it (`gridsvc db backup FILE` keeps a copy of it first)."
                )
            progress(f"dropping database {name} (--force)...")
            drop_database(settings, name)
        ensure_database(settings, name)
        archive.extract(DUMP, work, filter="data")
        progress(f"restoring database {name} from {source} (pg_restore)...")
        restore_args = ["--no-owner", "--exit-on-error", "--single-transaction"]
        run_client(
            settings, "pg_restore", database_url(settings), [*restore_args, f"{work}/{DUMP}"]
        )
        restored = restore_photos(archive, Path(settings.photos_dir), Path(work))
    progress(f"restored database {name} and {restored} photos into {settings.photos_dir}")
    return manifest


def restore_photos(archive: tarfile.TarFile, photos_dir: Path, work: Path) -> int:
    """Put the backup's photos under ``photos_dir``, each file replaced whole; return the count."""
    members = [m for m in archive.getmembers() if m.isfile() and m.name.startswith(f"{PHOTOS}/")]
    for member in members:
        archive.extract(member, work, filter="data")  # refuses absolute and ../ names
        relative = Path(member.name).relative_to(PHOTOS)
        target = photos_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(work / member.name, target)
    return len(members)
