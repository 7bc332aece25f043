"""Take every layer back out: GeoJSON, GeoPackage, Shapefile (zipped too) and CSV.

The columns are the ones the importers read, so an exported file imports back as it was.
Only the current generation of a boundary layer is exported, of the whole city or of one
district. GeoPackages are written as GeoPackage 1.2, which GDAL 3.6 (Debian 12's, and the
QGIS built on it) opens without a warning. Coordinates shifted to GCJ-02 or BD-09 have no
EPSG code: such a file says so in its name (``grids-gcj02.gpkg``) and metadata, and carries
no CRS rather than a false WGS-84 one, so QGIS asks instead of placing it 300-600 m off.
"""

from __future__ import annotations

import json
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
from gridsvc.common.errors import GridsvcError, NotFoundError
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


GEOPACKAGE_VERSION = "1.2"
#: Layers whose codes start with their district's code; the others are cut by its outline.
CODED_LAYERS = ("districts", "streets", "communities", "grids")


class ExportError(GridsvcError):
    """An export cannot be written as asked."""


def layer_sql(session: Session, name: str, district: str | None) -> tuple[str, dict]:
    """Return the layer's query, only ``district``'s rows if given (404 if unknown)."""
    export_layer(name)
    if district is None:
        return LAYER_QUERIES[name], {}
    known = session.scalar(
        text("SELECT count(*) FROM districts WHERE code = :d AND valid_to IS NULL"),
        {"d": district},
    )
    if not known:
        raise NotFoundError(f"no current district '{district}'")
    if name in CODED_LAYERS:
        condition = "left(layer.code, 6) = :district"
    else:
        condition = (
            "ST_Intersects(layer.geom, (SELECT geom FROM districts"
            " WHERE code = :district AND valid_to IS NULL))"
        )
    sql = f"SELECT layer.* FROM ({LAYER_QUERIES[name]}) AS layer WHERE {condition}"
    return sql, {"district": district}


def coordinate_label(crs: str) -> str:
    """Return the name of the coordinates ``crs`` writes: WGS-84, GCJ-02 or BD-09."""
    system = coords.parse_coordinate_system(crs)
    return {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09"}.get(system.value, system.value)


def shifted(crs: str) -> bool:
    """Whether ``crs`` moves coordinates off WGS-84 (GCJ-02, BD-09)."""
    return coords.parse_coordinate_system(crs) is not coords.CoordinateSystem.WGS84


def file_name(layer: str, suffix: str, crs: str = "wgs84", district: str | None = None) -> str:
    """Return ``grids.gpkg``, ``grids-150602.gpkg`` or ``grids-gcj02.gpkg`` (what it holds)."""
    parts = [layer, *([district] if district else [])]
    if shifted(crs):
        parts.append(coords.parse_coordinate_system(crs).value)
    return "-".join(parts) + suffix


def named_for(path: Path, crs: str) -> Path:
    """``path`` with ``-gcj02`` (or ``-bd09``) before its extension unless its name says so."""
    if not shifted(crs):
        return path
    system = coords.parse_coordinate_system(crs).value
    if system in path.stem.lower():
        return path
    return path.with_name(f"{path.stem}-{system}{path.suffix}")


def export_layer(name: str) -> Layer:
    """Return the exportable layer ``name``; the error lists the known ones."""
    if name not in EXPORT_LAYERS:
        raise ExportError(f"unknown layer '{name}'; layers: {', '.join(EXPORT_LAYERS)}")
    return EXPORT_LAYERS[name]


def read_layer(session: Session, name: str, district: str | None = None) -> gpd.GeoDataFrame:
    """Return the current rows of layer ``name`` (of ``district``) as a GeoDataFrame in WGS-84."""
    query, parameters = layer_sql(session, name, district)
    sql = f"SELECT *, ST_AsBinary(geom) AS wkb FROM ({query}) AS layer"
    result = session.execute(text(sql), parameters)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    geometry = shapely.from_wkb(frame.pop("wkb").map(bytes).to_numpy())
    frame = frame.drop(columns="geom")
    if "capacity" in frame:
        frame["capacity"] = frame["capacity"].astype("Int64")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def layer_geojson(
    session: Session, name: str, crs: str = "wgs84", district: str | None = None
) -> str:
    """Return layer ``name`` as a FeatureCollection, built by PostGIS (shifted in Python).

    A GCJ-02 or BD-09 collection is not RFC 7946 (which is WGS-84 only): its ``name`` and a
    ``coordinate_system`` member say which coordinates it holds.
    """
    if shifted(crs):
        frame = shift_from_wgs84(read_layer(session, name, district), crs)
        document = json.loads(frame.to_json(drop_id=True))
        label = coordinate_label(crs)
        return json.dumps(
            {
                "type": "FeatureCollection",
                "name": f"{name} ({label})",
                "coordinate_system": label,
                "features": document["features"],
            },
            ensure_ascii=False,
        )
    query, parameters = layer_sql(session, name, district)
    sql = (
        "SELECT json_build_object('type', 'FeatureCollection', 'name', CAST(:name AS text),"
        " 'features', coalesce(json_agg(ST_AsGeoJSON(layer.*, 'geom', 9)::json), '[]'::json))"
        f"::text FROM ({query}) AS layer"
    )
    return session.scalar(text(sql), {**parameters, "name": name})


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


def write_file(frame: gpd.GeoDataFrame, path: Path, layer: str, crs: str = "wgs84") -> None:
    """Write ``frame`` to ``path`` in the format its extension names, layer named ``layer``.

    A Shapefile cuts field names to 10 characters (``community_``); the importers know.
    Shifted coordinates (GCJ-02, BD-09) are written without a CRS and say so in metadata.
    """
    label = coordinate_label(crs)
    if shifted(crs):
        frame = frame.set_crs(None, allow_override=True)
    driver = DRIVERS[path.suffix.lower()]
    warnings.filterwarnings("ignore", message="Normalized/laundered field name")
    warnings.filterwarnings("ignore", message="'crs' was not provided")  # GCJ-02: on purpose
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
        options: dict = {"layer": layer}
        if driver == "ESRI Shapefile":
            options["encoding"] = "UTF-8"
        if driver in ("GPKG", "GeoJSON"):
            options["layer_options"] = {"DESCRIPTION": f"{layer}, coordinates in {label}"}
        if driver == "GeoJSON" and shifted(crs):
            options["layer"] = f"{layer}-{coords.parse_coordinate_system(crs).value}"
        if driver == "GPKG":
            options["dataset_options"] = {"VERSION": GEOPACKAGE_VERSION}
            options["metadata"] = {"COORDINATE_SYSTEM": label}
        pyogrio.write_dataframe(frame, path, driver=driver, **options)


def export_to_file(
    session: Session,
    name: str,
    path: Path,
    crs: str = "wgs84",
    district: str | None = None,
    overwrite: bool = True,
) -> int:
    """Write the current rows of layer ``name`` (of ``district``) to ``path``; returns how many.

    The file is written under a temporary name beside ``path`` and renamed at the end, so a
    reader never sees half a file. A Shapefile brings its sidecar files along. An existing
    file is replaced only with ``overwrite`` (the CLI asks for ``--overwrite``, as ogr2ogr).
    """
    suffix = path.suffix.lower()
    if suffix not in DRIVERS:
        raise ExportError(
            f"cannot tell the format of {path}: use one of {', '.join(sorted(DRIVERS))}"
        )
    if path.exists() and not overwrite:
        raise ExportError(f"{path} exists: give --overwrite to replace it")
    frame = shift_from_wgs84(read_layer(session, name, district), crs)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    write_file(frame, partial, name, crs)
    sidecars = (".shx", ".dbf", ".prj", ".cpg") if suffix == ".shp" else ()
    for extension in sidecars:
        if partial.with_suffix(extension).exists():
            os.replace(partial.with_suffix(extension), path.with_suffix(extension))
    os.replace(partial, path)
    return len(frame)
