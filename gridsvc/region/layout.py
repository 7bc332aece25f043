"""The region layout on disk: one GeoParquet file per layer and city, and a manifest.

::

    ROOT/region.json                          cities: code, name, metric CRS, source, counts
    ROOT/grids/city=CODE/part.0.parquet       code, community_code, street_code, district_code
    ROOT/population/city=CODE/part.0.parquet  persons (points)
    ROOT/facilities/city=CODE/part.0.parquet  facility_id, type_code (points)
    ROOT/network/city=CODE/part.0.parquet     source, target, length_m (lines)
    OUT/coverage/city=CODE/part.N.parquet     per grid, circle and mode; the gap as geometry
                                              (one file per part of the city)
    OUT/joined/part.N.parquet                 points with the city and grid they fall in

Every layer of a city is in that city's metric CRS (written in the GeoParquet metadata),
since coverage measures metres; a region spans several UTM zones, so cities differ.
Paths may be local or any fsspec URL the workers can reach, as long as every worker
sees the same files.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

LAYERS = ("grids", "population", "facilities", "network")
MANIFEST = "region.json"


@dataclass
class CityLayers:
    """One city's layers, each a GeoDataFrame in the city's metric CRS."""

    grids: gpd.GeoDataFrame
    population: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    network: gpd.GeoDataFrame


@dataclass
class CityEntry:
    """A city of the manifest."""

    code: str
    name: str
    crs: str
    source: str
    grids: int = 0
    residents: int = 0
    extra: dict = field(default_factory=dict)


def layer_path(root: str | Path, layer: str, city: str) -> Path:
    """Return the file of one city's layer."""
    return Path(root) / layer / f"city={city}" / "part.0.parquet"


def write_city(root: str | Path, city: str, layers: CityLayers) -> None:
    """Write a city's four layers as GeoParquet."""
    for layer in LAYERS:
        path = layer_path(root, layer, city)
        path.parent.mkdir(parents=True, exist_ok=True)
        getattr(layers, layer).to_parquet(path, index=False, compression="zstd")


def read_city(root: str | Path, city: str) -> CityLayers:
    """Read a city's four layers."""
    return CityLayers(*(gpd.read_parquet(layer_path(root, layer, city)) for layer in LAYERS))


def write_manifest(root: str | Path, cities: list[CityEntry]) -> Path:
    """Write (replace) the manifest of the region at ``root``."""
    path = Path(root) / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"cities": [entry.__dict__ for entry in cities]}
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def read_manifest(root: str | Path) -> list[CityEntry]:
    """Read the region's cities; FileNotFoundError names the missing manifest."""
    path = Path(root) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{path}: no region here (build or export one first)")
    document = json.loads(path.read_text(encoding="utf-8"))
    return [CityEntry(**entry) for entry in document["cities"]]


def add_to_manifest(root: str | Path, entry: CityEntry) -> list[CityEntry]:
    """Add a city to the manifest (replacing one of the same code)."""
    path = Path(root) / MANIFEST
    cities = read_manifest(root) if path.exists() else []
    cities = [city for city in cities if city.code != entry.code] + [entry]
    write_manifest(root, cities)
    return cities


def coverage_dir(out: str | Path, city: str, staging: bool = False) -> Path:
    """Return the folder of one city's coverage results (one file per part).

    Parts are written to the ``staging`` folder first, which readers of the dataset skip
    (a leading dot); :func:`publish_coverage` puts it in place once every part is there.
    """
    name = f".city={city}.partial" if staging else f"city={city}"
    return Path(out) / "coverage" / name


def coverage_part_path(out: str | Path, city: str, number: int) -> Path:
    """Return the staging file of one part's coverage results."""
    return coverage_dir(out, city, staging=True) / f"part.{number}.parquet"


def start_coverage(out: str | Path, city: str) -> None:
    """Empty the city's staging folder, so that only this run's parts are published."""
    staging = coverage_dir(out, city, staging=True)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)


def publish_coverage(out: str | Path, city: str) -> None:
    """Replace the city's published coverage by its staged parts."""
    final = coverage_dir(out, city)
    shutil.rmtree(final, ignore_errors=True)
    coverage_dir(out, city, staging=True).rename(final)


def read_coverage(out: str | Path, city: str) -> gpd.GeoDataFrame:
    """Read one city's coverage results: by circle and mode as computed, then grid code."""
    files = sorted(coverage_dir(out, city).glob("part.*.parquet"), key=_part_number)
    if not files:
        raise FileNotFoundError(f"no coverage results for city {city} in {out}")
    result = pd.concat([gpd.read_parquet(path) for path in files], ignore_index=True)
    # Every part holds every circle and mode in the order they were computed.
    ranks = [
        result[column].map({value: rank for rank, value in enumerate(result[column].unique())})
        for column in ("circle", "mode")
    ]
    order = np.lexsort((result["grid_code"].to_numpy(dtype=str), ranks[1], ranks[0]))
    return result.iloc[order].reset_index(drop=True)


def _part_number(path: Path) -> int:
    return int(path.name.split(".")[1])


def read_region_coverage(out: str | Path, cities: list[str]) -> pd.DataFrame:
    """Read the coverage figures (no gaps) of several cities into one frame with ``city``."""
    frames = [
        pd.DataFrame(read_coverage(out, city).drop(columns="geometry")).assign(city=city)
        for city in cities
    ]
    return pd.concat(frames, ignore_index=True)
