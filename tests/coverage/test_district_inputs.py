"""A district's sub-city gives the district's figures the whole city gives, grid by grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from gridsvc.coverage import analysis
from gridsvc.coverage.circles import load_circles
from gridsvc.coverage.inputs import city_inputs, district_inputs
from gridsvc.region import partition
from gridsvc.region.synthetic import demo_layers
from tests.coverage.factories import lattice_network

BUFFER_M = 50.0
KEYS = ["circle", "mode", "code"]


@pytest.fixture(scope="module")
def city(demo_city) -> analysis.CityInputs:
    """The session's small demo city (800 grids in 9 districts), in its UTM zone."""
    layers, _ = demo_layers(demo_city, (0.0, 0.0))
    return partition.layers_to_inputs(layers)


def coverage_rows(inputs: analysis.CityInputs) -> pd.DataFrame:
    """Every circle in both modes, as the refresh computes them, keyed by circle, mode, grid."""
    tables = []
    for circle in load_circles().values():
        rows = inputs.facilities_of(circle.facility_types)
        for mode in analysis.MODES:
            table = analysis.compute_coverage(inputs, rows, mode, circle.threshold_m, BUFFER_M)
            tables.append(table.assign(circle=circle.code, mode=mode))
    return pd.concat(tables, ignore_index=True).set_index(KEYS).sort_index()


def differences(part: pd.DataFrame, whole: pd.DataFrame) -> dict[str, float]:
    """How far a district's rows are from the city's rows of the same grids."""
    whole = whole.loc[part.index]
    arrays = [
        frame[column].to_numpy()
        for frame in (part, whole)
        for column in ("residents", "covered_residents", "area_m2", "covered_area_m2")
    ]
    share = np.abs(
        analysis.shares(*arrays[:4], "population") - analysis.shares(*arrays[4:], "population")
    )
    area_share = np.abs(analysis.shares(*arrays[:4], "area") - analysis.shares(*arrays[4:], "area"))
    gaps = shapely.symmetric_difference(part["gap"].to_numpy(), whole["gap"].to_numpy())
    return {
        "residents": float(np.abs(arrays[0] - arrays[4]).max()),
        "covered_residents": float(np.abs(arrays[1] - arrays[5]).max()),
        "share": float(max(share.max(), area_share.max())),
        "covered_area_m2": float(np.abs(arrays[3] - arrays[7]).max()),
        "gap_m2": float(shapely.area(gaps).max()),
    }


def kinds_of_district(inputs: analysis.CityInputs) -> dict[str, str]:
    """Each district: ``edge`` if its grids meet the city's outline, else ``middle``."""
    grids = inputs.grids
    outline = shapely.union_all(grids["geometry"].to_numpy()).boundary
    return {
        code: "edge"
        if shapely.union_all(group["geometry"].to_numpy()).intersects(outline)
        else "middle"
        for code, group in grids.groupby("district_code")
    }


def lattice_city(seed: int = 3) -> analysis.CityInputs:
    """A 1.5 km × 1.1 km jittered street lattice cut into 5 × 4 grids in three districts.

    The six inner grids are district 150601 (in the middle); the outer ring's west half is
    150602 and its east half 150603 (at the edge). Residents and facilities of every type
    the circles ask for are scattered at random, so reaches cross district borders.
    """
    rng = np.random.default_rng(seed)
    network = lattice_network(rng, columns=16, rows=12)
    boxes, districts = [], []
    for row in range(4):
        for column in range(5):
            x, y = column * 300 - 50, row * 275 - 50
            boxes.append(shapely.box(x, y, x + 300, y + 275))
            inner = 0 < column < 4 and 0 < row < 3
            districts.append("150601" if inner else "150602" if column < 3 else "150603")
    codes = [f"{district}001001{i:03d}" for i, district in enumerate(districts, start=1)]
    grids = pd.DataFrame(
        {
            "code": codes,
            "community_code": [code[:12] for code in codes],
            "street_code": [code[:9] for code in codes],
            "district_code": districts,
            "geometry": boxes,
        }
    ).sort_values("code", ignore_index=True)
    residents = np.column_stack(
        [rng.uniform(-50, 1450, 4000), rng.uniform(-50, 1050, 4000), rng.integers(1, 30, 4000)]
    )
    types = sorted({t for circle in load_circles().values() for t in circle.facility_types})
    count = 3 * len(types)
    facilities = (
        np.arange(1, count + 1),
        np.array(types * 3, dtype=object),
        np.column_stack([rng.uniform(-50, 1450, count), rng.uniform(-50, 1050, count)]),
    )
    lines = network.lines
    edges = (
        network.node_ids[network.source],
        network.node_ids[network.target],
        network.length,
        lines,
    )
    return city_inputs(grids, residents, facilities, edges)


def test_every_district_alone_gives_the_city_s_figures() -> None:
    """On the lattice; tests/region/test_region_districts.py does the same on the demo city."""
    city = lattice_city()
    whole = coverage_rows(city)
    limit = max(circle.threshold_m for circle in load_circles().values())
    kinds = kinds_of_district(city)
    assert sorted(set(kinds.values())) == ["edge", "middle"]  # both kinds are checked
    seen = []
    for district in sorted(kinds):
        sub = district_inputs(city, district, limit, BUFFER_M)
        part = coverage_rows(sub)
        assert (part.index.get_level_values("code").isin(sub.grids["code"])).all()
        found = differences(part, whole)
        assert found["residents"] == found["covered_residents"] == 0, (district, found)
        assert found["share"] <= 1e-9, (district, found)
        assert found["covered_area_m2"] <= 1e-2, (district, found)
        assert found["gap_m2"] <= 1e-3, (district, found)
        seen.append(part)
    every = pd.concat(seen).sort_index()
    assert every.index.equals(whole.index)  # each grid in exactly one district
    assert whole["covered_residents"].sum() > 0
    assert (whole["covered_residents"] < whole["residents"]).any()
    assert (whole["covered_area_m2"] < whole["area_m2"] - 1).any()  # some gaps to compare


def test_the_demo_city_is_really_cut(city: analysis.CityInputs) -> None:
    limit = max(circle.threshold_m for circle in load_circles().values())
    edges = [
        len(district_inputs(city, district, limit, BUFFER_M).network.length)
        for district in sorted(set(city.grids["district_code"]))
    ]
    assert max(edges) < len(city.network.length) < 1.5 * sum(edges)


def test_too_small_a_margin_changes_figures() -> None:
    """The comparison above can fail: cut by the smallest circle's margin, reaches are lost."""
    city = lattice_city()
    whole = coverage_rows(city)
    smallest = min(circle.threshold_m for circle in load_circles().values())
    found = [
        differences(coverage_rows(district_inputs(city, district, smallest / 4, 0.0)), whole)
        for district in sorted(set(city.grids["district_code"]))
    ]
    assert max(f["covered_residents"] for f in found) > 0
    assert max(f["covered_area_m2"] for f in found) > 1.0


def two_district_city() -> analysis.CityInputs:
    """Two 1 km squares side by side, g1 in d2 and g2 in d1, and streets only far away.

    One resident sits on the shared edge (the city puts it in g1, the lower code); the
    residents of g2 are 1.6-2 km from the nearest street, beyond a 300 m circle's margin
    (650 m), one of them exactly as far from two streets. A park stands 50 m west of g1.
    """
    grids = pd.DataFrame(
        {
            "code": ["g1", "g2"],
            "community_code": ["c2", "c1"],
            "street_code": ["s2", "s1"],
            "district_code": ["d2", "d1"],
            "geometry": [shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
        }
    )
    residents = np.array([[1000.0, 500.0, 7], [1900.0, 500.0, 3], [1500.0, 900.0, 2]])
    lines = shapely.linestrings(
        [
            [(-1500, 0), (-1500, 1000)],
            [(1000, 2500), (2000, 2500)],
            [(1000, -1500), (2000, -1500)],
        ]
    )
    edges = (np.array([1, 3, 5]), np.array([2, 4, 6]), shapely.length(lines), lines)
    facilities = (np.array([1]), np.array(["park_square"]), np.array([[-50.0, 500.0]]))
    return city_inputs(grids, residents, facilities, edges)


def test_a_district_keeps_the_city_s_places_and_snaps_of_its_residents() -> None:
    city = two_district_city()
    assert city.resident_grid.tolist() == [0, 1, 1]  # the border resident is g1's
    sub = district_inputs(city, "d1", 300.0, BUFFER_M)
    assert sub.grids["code"].tolist() == ["g2"]
    assert sub.resident_persons.tolist() == [3, 2] and sub.resident_grid.tolist() == [0, 0]
    assert len(sub.facility_xy) == 0  # the park is 1,050 m away, beyond 2 * 300 + 50
    # Both residents snap as in the city, though their edges are far beyond the margin.
    city_snaps = city.resident_snaps.take(np.array([1, 2]))
    sub_snaps = sub.resident_snaps
    assert shapely.equals(
        sub.network.lines[sub_snaps.edge], city.network.lines[city_snaps.edge]
    ).all()
    assert np.array_equal(sub_snaps.fraction, city_snaps.fraction)
    assert np.array_equal(sub_snaps.offset, city_snaps.offset)
    other = district_inputs(city, "d2", 300.0, BUFFER_M)
    assert other.resident_persons.tolist() == [7] and len(other.facility_xy) == 1
    assert len(other.network.length) == 1  # no street within its margin: its resident's
    for circle in load_circles().values():
        for inputs in (sub, other):
            rows = inputs.facilities_of(circle.facility_types)
            for mode in analysis.MODES:
                table = analysis.compute_coverage(inputs, rows, mode, circle.threshold_m, BUFFER_M)
                whole = (
                    analysis.compute_coverage(
                        city,
                        city.facilities_of(circle.facility_types),
                        mode,
                        circle.threshold_m,
                        BUFFER_M,
                    )
                    .set_index("code")
                    .loc[table["code"]]
                )
                assert table["covered_residents"].tolist() == whole["covered_residents"].tolist()
                assert np.allclose(table["covered_area_m2"], whole["covered_area_m2"], atol=1e-2)


def test_an_unknown_district_is_an_empty_sub_city(city: analysis.CityInputs) -> None:
    sub = district_inputs(city, "999999", 1000.0, BUFFER_M)
    assert len(sub.grids) == len(sub.resident_xy) == len(sub.facility_xy) == 0
