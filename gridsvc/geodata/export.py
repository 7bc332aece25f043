"""Take every layer back out: GeoJSON, GeoPackage, Shapefile (zipped too) and CSV.

The columns are the ones the importers read, so an exported file imports back as it was.
Only the current generation of a boundary layer is exported.
"""

from __future__ import annotations

import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common import coords
from gridsvc.common.errors import GridsvcError
from gridsvc.geodata.layers import EXPORT_LAYERS, Layer

# Each layer's rows: properties in the importers' field order, then ``geom`` (polygons with
# exterior rings counter-clockwise, as RFC 7946 asks).
CURRENT = "valid_to IS NULL"
LAYER_QUERIES = {
    "districts": (
        "SELECT code, name, ST_ForcePolygonCCW(geom) AS geom FROM districts "
        f"WHERE {CURRENT} ORDER BY code"
    ),
    "streets": (
        "SELECT s.code, s.name, d.code AS district_code, ST_ForcePolygonCCW(s.geom) AS geom "
        f"FROM streets s JOIN districts d ON d.id = s.district_id WHERE s.{CURRENT} "
        "ORDER BY s.code"
    ),
    "communities": (
        "SELECT c.code, c.name, s.code AS street_code, c.kind, "
        "ST_ForcePolygonCCW(c.geom) AS geom FROM communities c "
        f"JOIN streets s ON s.id = c.street_id WHERE c.{CURRENT} ORDER BY c.code"
    ),
    "grids": (
        "SELECT g.code, g.name, c.code AS community_code, g.population, g.households, "
        "g.grid_workers, ST_ForcePolygonCCW(g.geom) AS geom FROM grids g "
        f"JOIN communities c ON c.id = g.community_id WHERE g.{CURRENT} ORDER BY g.code"
    ),
    "facilities": "SELECT type_code, name, source, capacity, geom FROM facilities ORDER BY id",
    "population": "SELECT persons, geom FROM population_points ORDER BY id",
    "network_nodes": "SELECT id AS node_id, geom FROM network_nodes ORDER BY id",
    "network_edges": "SELECT source, target, length_m, geom FROM network_edges ORDER BY id",
}
DRIVERS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GPKG",
    ".shp": "ESRI Shapefile",
    ".zip": "ESRI Shapefile",
    ".csv": "CSV",
}


class ExportError(GridsvcError):
    """An export cannot be written as asked."""


def export_layer(name: str) -> Layer:
    """Return the exportable layer ``name``; the error lists the known ones."""
    if name not in EXPORT_LAYERS:
        raise ExportError(f"unknown layer '{name}'; layers: {', '.join(EXPORT_LAYERS)}")
    return EXPORT_LAYERS[name]


def read_layer(session: Session, name: str) -> gpd.GeoDataFrame:
    """Return the current rows of layer ``name`` as a GeoDataFrame in WGS-84."""
    export_layer(name)
    sql = f"SELECT *, ST_AsBinary(geom) AS wkb FROM ({LAYER_QUERIES[name]}) AS layer"
    result = session.execute(text(sql))
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    geometry = shapely.from_wkb(frame.pop("wkb").map(bytes).to_numpy())
    frame = frame.drop(columns="geom")
    if "capacity" in frame:
        frame["capacity"] = frame["capacity"].astype("Int64")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def layer_geojson(session: Session, name: str) -> str:
    """Return layer ``name`` as an RFC 7946 FeatureCollection, built by PostGIS."""
    export_layer(name)
    sql = (
        "SELECT json_build_object('type', 'FeatureCollection', 'features', "
        "coalesce(json_agg(ST_AsGeoJSON(layer.*, 'geom', 9)::json), '[]'::json))::text "
        f"FROM ({LAYER_QUERIES[name]}) AS layer"
    )
    return session.scalar(text(sql))


def shift_from_wgs84(frame: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """Move every vertex from WGS-84 to GCJ-02 or BD-09 (``wgs84`` leaves it)."""
    system = coords.parse_coordinate_system(crs)
    if system is coords.CoordinateSystem.WGS84:
        return frame

    def shift(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(coords.from_wgs84(xy[:, 0], xy[:, 1], system))

    return frame.set_geometry(shapely.transform(frame.geometry.to_numpy(), shift))


def csv_frame(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Points as lon/lat columns, other geometries as WKT, for a CSV the importers read."""
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    geometry = frame.geometry.to_numpy()
    if len(frame) and (shapely.get_type_id(geometry) == 0).all():
        table["lon"], table["lat"] = shapely.get_x(geometry), shapely.get_y(geometry)
    else:
        table["wkt"] = shapely.to_wkt(geometry, rounding_precision=-1)
    return table


def write_file(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """Write ``frame`` to ``path`` in the format its extension names.

    A Shapefile cuts field names to 10 characters (``community_``); the importers know.
    """
    driver = DRIVERS[path.suffix.lower()]
    warnings.filterwarnings("ignore", message="Normalized/laundered field name")
    if driver == "CSV":
        csv_frame(frame).to_csv(path, index=False, float_format="%.12g")
    elif path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory() as folder:
            shapefile = Path(folder) / f"{layer}.shp"
            pyogrio.write_dataframe(frame, shapefile, driver=driver, encoding="UTF-8")
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for part in sorted(Path(folder).iterdir()):
                    archive.write(part, part.name)
    else:
        options = {"layer": layer} if driver == "GPKG" else {}
        if driver == "ESRI Shapefile":
            options["encoding"] = "UTF-8"
        pyogrio.write_dataframe(frame, path, driver=driver, **options)


def export_to_file(session: Session, name: str, path: Path, crs: str = "wgs84") -> int:
    """Write the current rows of layer ``name`` to ``path``; returns how many.

    The file is written under a temporary name beside ``path`` and renamed at the end, so a
    reader never sees half a file. A Shapefile brings its sidecar files along.
    """
    suffix = path.suffix.lower()
    if suffix not in DRIVERS:
        raise ExportError(
            f"cannot tell the format of {path}: use one of {', '.join(sorted(DRIVERS))}"
        )
    frame = shift_from_wgs84(read_layer(session, name), crs)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    write_file(frame, partial, name)
    sidecars = (".shx", ".dbf", ".prj", ".cpg") if suffix == ".shp" else ()
    for extension in sidecars:
        if partial.with_suffix(extension).exists():
            os.replace(partial.with_suffix(extension), path.with_suffix(extension))
    os.replace(partial, path)
    return len(frame)
