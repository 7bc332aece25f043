"""A small city in Ordos written as files, the way a city's offices would hand them over.

District 150602 near Dongsheng: two streets, three communities, 16 grids on an exact
lattice (steps of 2^-7 degrees, exact in binary and decimal), facilities and residents.
Tests copy a frame, spoil it and write it again to check each class of bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import MultiPolygon, Point, box

ORIGIN = (109.875, 39.75)
STEP = 2.0**-7
DISTRICT = "150602"
WGS84 = "EPSG:4326"


def block(column: int, row: int, columns: int = 1, rows: int = 1) -> MultiPolygon:
    west, south = ORIGIN[0] + column * STEP, ORIGIN[1] + row * STEP
    return MultiPolygon([box(west, south, west + columns * STEP, south + rows * STEP)])


def frame(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=WGS84)


# (code, name, street, first column, first row, columns, rows)
COMMUNITIES = (
    ("150602001001", "泰和社区", 0, 0, 2, 2),
    ("150602001002", "兴园社区", 2, 0, 2, 2),
    ("150602002001", "北湖社区", 0, 2, 4, 2),
)


def city_frames() -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the fixture city as GeoDataFrames in WGS-84."""
    districts = frame([{"code": DISTRICT, "name": "东胜区", "geometry": block(0, 0, 4, 4)}])
    streets = frame(
        [
            {"code": "150602001", "name": "交通街道", "geometry": block(0, 0, 4, 2)},
            {"code": "150602002", "name": "公园街道", "geometry": block(0, 2, 4, 2)},
        ]
    )
    communities, grids = [], []
    for code, name, column, row, columns, rows in COMMUNITIES:
        communities.append(
            {
                "code": code,
                "name": name,
                "kind": "urban",
                "geometry": block(column, row, columns, rows),
            }
        )
        cells = [(column + c, row + r) for r in range(rows - 1, -1, -1) for c in range(columns)]
        for number, (c, r) in enumerate(cells, start=1):
            grids.append(
                {
                    "code": f"{code}{number:03d}",
                    "name": f"{name}第{number}网格",
                    "population": 100 * number,
                    "households": 40 * number,
                    "grid_workers": 2,
                    "geometry": block(c, r),
                }
            )
    facilities = frame(
        [
            {
                "type_code": "library",
                "name": "东胜区图书馆",
                "capacity": 300,
                "geometry": Point(ORIGIN[0] + 0.5 * STEP, ORIGIN[1] + 0.5 * STEP),
            },
            {
                "type_code": "school",
                "name": "第一小学",
                "capacity": None,
                "geometry": Point(ORIGIN[0] + 2.5 * STEP, ORIGIN[1] + 3.25 * STEP),
            },
        ]
    )
    population = frame(
        [
            {
                "persons": 3 + i,
                "geometry": Point(
                    ORIGIN[0] + (i % 4 + 0.5) * STEP, ORIGIN[1] + (i // 4 + 0.5) * STEP
                ),
            }
            for i in range(16)
        ]
    )
    return {
        "districts": districts,
        "streets": streets,
        "communities": frame(communities),
        "grids": frame(grids),
        "facilities": facilities,
        "population": population,
    }


def write_csv_points(frame: gpd.GeoDataFrame, path: Path) -> Path:
    table = pd.DataFrame(frame.drop(columns="geometry"))
    table["lon"], table["lat"] = frame.geometry.x, frame.geometry.y
    table.to_csv(path, index=False)
    return path


@dataclass
class FixtureCity:
    folder: Path
    frames: dict[str, gpd.GeoDataFrame]
    files: dict[str, Path] = field(default_factory=dict)

    def write(self, name: str, data: gpd.GeoDataFrame, suffix: str = ".geojson") -> Path:
        """Write ``data`` as a fixture file of its own."""
        path = self.folder / f"{name}{suffix}"
        if suffix == ".csv":
            return write_csv_points(data, path)
        data.to_file(path, driver="GPKG" if suffix == ".gpkg" else "GeoJSON", engine="pyogrio")
        return path


def make_fixture_city(folder: Path) -> FixtureCity:
    """Write each layer of the fixture city as GeoJSON (points also as CSV)."""
    city = FixtureCity(folder, city_frames())
    for name, data in city.frames.items():
        city.files[name] = city.write(name, data)
    return city
