"""Whether stored coverage still matches the data it was made from, per district and city.

First by data versions (:mod:`gridsvc.common.data_versions`): every refresh records the
versions of the coverage's input tables (:data:`INPUT_TABLES`), and a record whose versions
are today's is fresh after one small lookup, whatever the city's size. Only when an input
table was written since does the fingerprint below decide, so that a change in one district
leaves the others fresh.

A district's coverage depends only on its current grids and on the residents, facilities
and walking network within reach of them: the box :func:`refresh.load_inputs` reads (the
grids' extent in the metric CRS grown by :func:`reach_margin`). A district's fingerprint
digests exactly those rows, so a change elsewhere leaves it fresh. Every refresh records
the fingerprint of each district it recomputed (a city refresh: every district, then the
city's own); a district is fresh when its newest record matches today's data, and the city
when its newest record is the last one written and matches, or else when every current
district is fresh.
"""

from __future__ import annotations

import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gridsvc.common import postgis
from gridsvc.common.data_versions import table_states
from gridsvc.config import get_settings
from gridsvc.coverage.circles import load_circles
from gridsvc.coverage.models import CoverageRefresh
from gridsvc.facilities import service as facilities_service
from gridsvc.grids import service as grids_service

CITY = "city"
#: The fingerprint of a record left by an incremental update (which hashes nothing).
INCREMENTAL = "incremental"

#: The tables stored coverage is computed from: a write to any of them may change it.
INPUT_TABLES = (
    "districts",
    "streets",
    "communities",
    "grids",
    "population_points",
    "facility_types",
    "facilities",
    "network_nodes",
    "network_edges",
)

# Exact sums of coordinates, so that a redrawn edge tells.
_EDGES_DIGEST = (
    "SELECT count(*) || ':' || coalesce(round(sum(length_m)::numeric, 3), 0)"
    " || ':' || coalesce(sum(source + 3 * target), 0) || ':'"
    " || coalesce(sum((ST_X(ST_StartPoint(geom)) + 3 * ST_Y(ST_EndPoint(geom))"
    " + ST_NPoints(geom))::numeric), 0)"
    " FROM network_edges WHERE {near}"
)


def reach_margin() -> float:
    """Metres around a district's grids within which data can change its coverage.

    A walk of the largest threshold stays within that threshold of where it ends, so twice
    it (plus 1 km for snapping onto the network) holds every facility, edge and access leg
    that can reach the grids, and every facility whose service area is then complete.
    """
    return max(c.threshold_m for c in load_circles().values()) * 2 + 1000


def fingerprint(session: Session, district: str | None = None) -> str:
    """Digest what stored coverage of the city (or of ``district``) depends on.

    Facilities, network, current grids and residents (of the district's reach), circles.
    """
    box = None
    if district is not None:
        # One metre more than load_inputs reads, so float rounding never leaves a row out.
        box = grids_service.reach_box(
            session, district, grids_service.metric_srid(session), reach_margin() + 1
        )
    edges = text(_EDGES_DIGEST.format(near=postgis.meets_box(box)))
    parts = (
        facilities_service.facilities_digest(session, box),
        session.execute(edges, {"box": box}).scalar_one(),
        grids_service.grids_digest(session, district),
        grids_service.residents_digest(session, box),
    )
    circles = ";".join(f"{c.code}={c.key}" for c in load_circles().values())
    buffer_m = get_settings().service_area_buffer_m
    return "|".join(str(part) for part in (*parts, circles, buffer_m))


def input_versions(session: Session) -> str:
    """Return the data versions of the input tables, with the circles and buffer width."""
    states = table_states(session, INPUT_TABLES)
    circles = ";".join(f"{c.code}={c.key}" for c in load_circles().values())
    settings = {"circles": circles, "buffer_m": get_settings().service_area_buffer_m}
    return json.dumps({**states, **settings}, sort_keys=True)


class _Now:
    """Today's input versions and city fingerprint, each read at most once per check."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._versions: str | None = None
        self._city: str | None = None

    def versions(self) -> str:
        if self._versions is None:
            self._versions = input_versions(self.session)
        return self._versions

    def city(self) -> str:
        if self._city is None:
            self._city = fingerprint(self.session)
        return self._city

    def same_versions(self, record: CoverageRefresh) -> bool:
        """Whether ``record`` was made when the input tables were as they are now."""
        return record.input_versions is not None and record.input_versions == self.versions()

    def same_rows(self, record: CoverageRefresh, district: str | None) -> bool:
        """Whether ``record`` was made from today's rows (an update's record never is)."""
        if record.fingerprint == INCREMENTAL:
            return False
        if district is None:
            return record.fingerprint == self.city()
        return record.fingerprint == fingerprint(self.session, district)


def current_districts(session: Session) -> list[str]:
    """Codes of the current districts, in order."""
    return grids_service.district_codes(session)


def _newest(session: Session, scopes: list[str]) -> CoverageRefresh | None:
    return session.scalar(
        select(CoverageRefresh)
        .where(CoverageRefresh.scope.in_(scopes))
        .order_by(CoverageRefresh.id.desc())
        .limit(1)
    )


def _district_fresh(session: Session, district: str, now: _Now) -> bool:
    newest = _newest(session, [district, CITY])
    if newest is None:
        return False
    if now.same_versions(newest):
        return True
    own = _newest(session, [district])
    if own is None:  # refreshes from before per-district records: the city's counts
        return now.same_rows(newest, None)
    # After an incremental update the district's rows may differ from its own record's.
    updated = session.scalar(
        select(CoverageRefresh.id)
        .where(CoverageRefresh.id > own.id, CoverageRefresh.fingerprint == INCREMENTAL)
        .limit(1)
    )
    return updated is None and now.same_rows(own, district)


def is_fresh(session: Session, district: str | None = None) -> bool:
    """Whether the stored coverage of ``district`` (or of the whole city) is current."""
    now = _Now(session)
    if district is not None:
        return _district_fresh(session, district, now)
    newest = _newest(session, [CITY])
    last = session.scalar(select(CoverageRefresh.id).order_by(CoverageRefresh.id.desc()).limit(1))
    if newest is not None and newest.id == last and now.same_versions(newest):
        return True
    if newest is not None and newest.id == last and now.same_rows(newest, None):
        return True
    districts = current_districts(session)
    return bool(districts) and all(_district_fresh(session, code, now) for code in districts)


def stale_districts(session: Session) -> list[str]:
    """Return the current districts whose stored coverage is missing or out of date."""
    now = _Now(session)
    return [code for code in current_districts(session) if not _district_fresh(session, code, now)]
