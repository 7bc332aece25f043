"""The metric CRS comes from where the city is: its UTM zone, unless a setting names one.

Checked against the zone formula (6° zones from 180°W, 326xx north and 327xx south of the
equator), away from the zone edges and from Norway's and Svalbard's exceptions.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from gridsvc.config import Settings, utm_crs


def formula(lon: float, lat: float) -> str:
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def test_the_zone_of_a_box_is_the_zone_of_its_centre() -> None:
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 30:  # pyproj's search takes about 0.1 s each
        lon, lat = rng.uniform(-179, 179), rng.uniform(-79, 55)
        if abs((lon + 180) % 6 - 3) > 2.9 or abs(lat) < 0.1:
            continue  # on a zone edge or the equator: either side is right
        width, height = rng.uniform(0, 1.5, 2)
        box = (lon - width / 2, lat - height / 2, lon + width / 2, lat + height / 2)
        assert utm_crs(*box) == formula(lon, lat), box
        checked += 1


def test_cities_get_their_own_zone_and_ordos_keeps_49n() -> None:
    assert Settings(city_bbox="106.7,37.6,111.5,40.8").metric_crs == "EPSG:32649"  # Ordos
    assert Settings(city_bbox="121.0,30.7,122.0,31.9").metric_crs == "EPSG:32651"  # Shanghai
    assert Settings(city_bbox="87.3,43.6,88.0,44.1").metric_crs == "EPSG:32645"  # Ürümqi
    assert Settings(city_bbox="-58.6,-34.8,-58.3,-34.5").metric_crs == "EPSG:32721"


def test_a_named_metric_crs_wins_and_must_be_in_metres() -> None:
    shanghai = "121.0,30.7,122.0,31.9"
    assert Settings(city_bbox=shanghai, metric_crs="EPSG:32650").metric_crs == "EPSG:32650"
    assert Settings(city_bbox=shanghai, metric_crs="AUTO").metric_crs == "EPSG:32651"
    assert Settings(metric_crs="epsg:4547").metric_crs == "EPSG:4547"  # CGCS2000 / 3-degree GK
    for wrong, said in (("EPSG:4326", "not a projected CRS"), ("no such", "not a coordinate")):
        with pytest.raises(ValidationError, match=said):
            Settings(metric_crs=wrong)
