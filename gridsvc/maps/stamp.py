"""Whether the maps written to a folder are current, so a second ``make demo`` skips them.

A stamp beside the maps records what they were drawn from: the data version of every table
a written map reads (row counts and newest transaction ids, :func:`gridsvc.ogc.tiles.data_version`),
the command's options, and a digest of the code that draws them. The same stamp again means
the same pages again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session

from gridsvc.ogc.tiles import data_version

STAMP_FILE = ".rendered"
#: Every table a written map (grids, coverage, issues) is drawn from.
MAP_TABLES = (
    "districts",
    "streets",
    "communities",
    "grids",
    "facility_types",
    "facilities",
    "grid_coverage",
    "service_areas",
    "coverage_refreshes",
    "network_edges",
    "issue_categories",
    "departments",
    "issues",
    "issue_events",
)
_CODE = Path(__file__).resolve().parent


def code_digest() -> str:
    """Digest of the maps package's modules and its own scripts and styles."""
    digest = hashlib.sha1()
    for path in sorted(p for p in _CODE.rglob("*") if p.is_file() and p.suffix != ".pyc"):
        digest.update(path.relative_to(_CODE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def render_stamp(session: Session, request: str) -> str:
    """Return the stamp of maps drawn now for ``request`` (the command's options, as text)."""
    return f"code={code_digest()}\ndata={data_version(session, MAP_TABLES)}\nrequest={request}\n"


def is_current(target: Path, stamp: str) -> bool:
    """Whether ``target`` holds maps written under exactly ``stamp`` (and their index)."""
    file = target / STAMP_FILE
    return file.is_file() and (target / "index.html").is_file() and file.read_text() == stamp


def write_stamp(target: Path, stamp: str) -> None:
    """Record ``stamp`` once every map and the index are written."""
    (target / STAMP_FILE).write_text(stamp, encoding="utf-8")
