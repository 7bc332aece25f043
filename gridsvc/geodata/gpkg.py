"""Write a city's layers to one GeoPackage for GIS analysts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gridsvc.geodata.demo.build import DemoCity

CITY_LAYERS = (
    "districts",
    "streets",
    "communities",
    "grids",
    "facilities",
    "population",
    "network_nodes",
    "network_edges",
)


def write_city_geopackage(city: DemoCity, path: Path) -> Path:
    """Write every layer of ``city`` to the GeoPackage ``path``, replacing it whole.

    Parameters
    ----------
    city
        The city to write.
    path
        Target file; it is written beside under a temporary name and renamed at the end,
        so a reader never sees half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    partial.unlink(missing_ok=True)
    for layer in CITY_LAYERS:
        getattr(city, layer).to_file(partial, layer=layer, driver="GPKG", engine="pyogrio")
    os.replace(partial, path)
    return path
