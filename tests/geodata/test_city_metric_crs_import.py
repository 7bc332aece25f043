"""Importing a city's districts stores the UTM zone of their extent with the city."""

from __future__ import annotations

import geopandas as gpd

from tests.city_cli import Cli
from tests.geodata.cityfiles import FixtureCity


def test_importing_districts_stores_their_zone(cli: Cli, city_files: FixtureCity) -> None:
    cli.load_boundaries(city_files, up_to="districts")
    districts = gpd.read_file(city_files.files["districts"])
    zone = districts.estimate_utm_crs().to_epsg()
    stored = cli.rows("SELECT crs, west, south, east, north FROM city_metric_crs")
    assert stored == [(f"EPSG:{zone}", *(float(value) for value in districts.total_bounds))]
