"""The what-if computed where a change reaches answers exactly what recomputing everything does.

The reference below recomputes the circle before and after on every resident and measures
the covered area of the grids within reach with the pieces of one box around them all, as
the what-if did before it kept a baseline: the answers must be equal, value for value.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from gridsvc.coverage import analysis, gaps, planning, refresh, scenario
from gridsvc.coverage.circles import get_circle
from gridsvc.grids import service as grids_service
from tests.coverage.conftest import WalkCity, lonlat

CULTURE = get_circle("culture_5min")


def reference(
    inputs: analysis.CityInputs, after: scenario.After, mode: str, weight: str
) -> tuple[list[dict], int, int]:
    """Rows, covered before and after, from two whole recomputes."""
    limit, buffer_m = CULTURE.threshold_m, get_settings().service_area_buffer_m
    before_xy = inputs.facility_xy[inputs.facilities_of(CULTURE.facility_types)]
    sets = (before_xy, after.xy)
    tables = [
        analysis.grid_table(inputs, analysis.resident_distances(inputs, xy, mode, limit) <= limit)
        for xy in sets
    ]
    reach_m = limit + (buffer_m if mode == "network" else 0.0)
    geometries = inputs.grids["geometry"].to_numpy()
    tree = shapely.STRtree(geometries)
    found = tree.query(shapely.points(after.changed), predicate="dwithin", distance=reach_m)
    affected = np.unique(found[1])
    for table, xy in zip(tables, sets, strict=True):
        covered = np.zeros(len(table))
        if len(affected):
            near = shapely.box(*shapely.total_bounds(geometries[affected])).buffer(reach_m)
            parts, width = analysis.coverage_parts(inputs, xy, mode, limit, buffer_m, near)
            quad_segs = analysis.circle_quad_segs(mode)
            planar = gaps.cut(geometries[affected], parts, width, quad_segs)[1]
            covered[affected] = inputs.on_the_ground(planar, affected)
        table["covered_area_m2"] = np.minimum(covered, table["area_m2"].to_numpy())
    rows = analysis.change(tables[0], tables[1], weight)
    counts = [int(t["covered_residents"].sum()) for t in tables]
    return planning._plain(rows), counts[0], counts[1]


@pytest.mark.parametrize("mode", ["network", "euclidean"])
def test_what_ifs_equal_two_whole_recomputes(
    db_session: Session, walk_city: WalkCity, mode: str
) -> None:
    inputs = refresh.load_inputs(db_session)
    rng = np.random.default_rng(11)
    west, south = walk_city.resident_xy.min(axis=0)
    east, north = walk_city.resident_xy.max(axis=0)
    culture = [
        int(i)
        for i, t in zip(walk_city.facility_ids, walk_city.facility_types, strict=True)
        if t in CULTURE.facility_types
    ]

    def place() -> planning.Place:
        xy = np.array([[rng.uniform(west, east), rng.uniform(south, north)]])
        lon, lat = lonlat(xy)[0]
        return planning.Place(float(lon), float(lat))

    changes = [
        planning.Change([("library", place())], [], []),
        planning.Change([], [(culture[0], place())], []),
        planning.Change([], [], [culture[1]]),
        planning.Change([("library", place()), ("library", place())], [], [culture[2]]),
        planning.Change([], [(culture[3], place())], [walk_city.facility_ids[2]]),
    ]
    limits = (CULTURE.threshold_m, get_settings().service_area_buffer_m)
    seen_rows = 0
    for change in changes:
        base = scenario.baseline(
            inputs, CULTURE.key, CULTURE.facility_types, mode, CULTURE.threshold_m
        )
        after = planning._apply(inputs, change, CULTURE, grids_service.metric_srid(db_session))
        tables = scenario.outcome(inputs, base, after, mode, limits)
        for weight in ("population", "area"):
            rows = planning._plain(analysis.change(tables[0], tables[1], weight))
            expected, before, covered_after = reference(inputs, after, mode, weight)
            assert rows == expected
            gained = tables[1]["covered_residents"] - tables[0]["covered_residents"]
            assert (base.covered, base.covered + int(gained.sum())) == (before, covered_after)
            seen_rows += len(rows)
    assert seen_rows, "some change moves some grid"
