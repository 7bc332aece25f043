"""Read a city's files into GeoDataFrames: GeoJSON, GeoPackage, Shapefile (zipped too), CSV.

Vector files go through pyogrio. A CSV holds points as lon/lat columns, or any geometry
as WKT in a ``wkt`` or ``geometry`` column. Coordinates end in WGS-84: GCJ-02 and BD-09
are shifted back with :mod:`gridsvc.common.coords`, any EPSG code is reprojected.
"""

from __future__ import annotations

import csv
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gridsvc.common import coords
from gridsvc.common.errors import GridsvcError
from gridsvc.geodata.layers import Layer
from gridsvc.geodata.problems import Problem

WGS84 = "EPSG:4326"
LON_COLUMNS = ("lon", "lng", "longitude", "x", "经度")
LAT_COLUMNS = ("lat", "latitude", "y", "纬度")
WKT_COLUMNS = ("wkt", "geometry", "geom")
# Shapefiles cut field names to 10 characters: community_code comes back as community_.
SHAPEFILE_FIELD_LENGTH = 10
# What GDAL assumes of a Shapefile that does not say its encoding (no .cpg, no code page).
SHAPEFILE_FALLBACK_ENCODING = "ISO-8859-1"
FORMATS = "GeoJSON, GeoPackage, Shapefile (.shp, or a .zip holding one) or CSV"
ENCODING_HINT = "a file saved by Chinese Windows software is usually GBK: give --encoding gbk"


class ReadError(GridsvcError):
    """A file cannot be read as asked (missing, unknown format, no such layer, bad CRS)."""


@dataclass
class SourceFrame:
    """A file's features, one row per feature in file order, and what reading found wrong."""

    frame: gpd.GeoDataFrame
    problems: list[Problem] = field(default_factory=list)


def parse_assignments(pairs: list[str] | None, option: str) -> dict[str, str]:
    """Parse ``target=value`` pairs given to ``--map`` or ``--set``."""
    parsed: dict[str, str] = {}
    for pair in pairs or []:
        target, sep, value = pair.partition("=")
        if not sep or not target.strip():
            raise ReadError(f"{option} expects TARGET=VALUE, got '{pair}'")
        parsed[target.strip()] = value.strip()
    return parsed


def open_problem(path: Path, error: Exception) -> str:
    """Say in a few words why GDAL could not open ``path``: empty, not a zip, no shapefile..."""
    if path.is_file() and path.stat().st_size == 0:
        return "the file is empty (0 bytes)"
    if path.suffix.lower() == ".zip":
        if not zipfile.is_zipfile(path):
            return "not a readable zip archive"
        with zipfile.ZipFile(path) as archive:
            names = [name for name in archive.namelist() if not name.endswith("/")]
        if not any(name.lower().endswith(".shp") for name in names):
            return f"the zip holds no Shapefile (.shp); it holds: {', '.join(names) or 'nothing'}"
    message = str(error)
    if "not recognized as being in a supported file format" in message:
        return f"not a {FORMATS} file"
    if "sqlite3_" in message or "malformed" in message:
        return f"the file is damaged or cut short ({message.split('; ')[-1]})"
    return message.replace(f"'{path}' ", "").split("; It might help")[0]


def choose_layer(path: Path, layer: str | None, wanted: str) -> str | None:
    """Pick the layer to read: the one asked for, the only one, or the one named like ``wanted``."""
    try:
        names = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as error:  # GDAL's errors come in many classes
        raise ReadError(f"cannot open {path}: {open_problem(path, error)}") from None
    if layer is not None:
        if layer not in names:
            raise ReadError(f"{path} has no layer '{layer}'; its layers: {', '.join(names)}")
        return layer
    if len(names) <= 1:
        return None
    if wanted in names:
        return wanted
    raise ReadError(f"{path} has several layers ({', '.join(names)}): choose one with --layer")


def check_declared_encoding(path: Path, frame: gpd.GeoDataFrame, info: dict) -> None:
    """Refuse a Shapefile that does not say its encoding but holds non-ASCII text.

    GDAL then reads the text as Latin-1, which turns GBK Chinese names into mojibake that
    would load without a word; the caller must say the encoding instead.
    """
    if info.get("driver") != "ESRI Shapefile" or info.get("encoding") != (
        SHAPEFILE_FALLBACK_ENCODING
    ):
        return
    texts = frame.select_dtypes(include=["object", "string"]).drop(
        columns=[frame.geometry.name], errors="ignore"
    )
    for column in texts.columns:
        if texts[column].dropna().astype(str).map(str.isascii).all():
            continue
        raise ReadError(
            f"{path}: the Shapefile does not say its text encoding (no .cpg file) and its "
            f"column '{column}' is not plain ASCII; {ENCODING_HINT} (or --encoding utf-8)"
        )


def read_vector(
    path: Path, layer: str | None, wanted: str, encoding: str | None = None
) -> gpd.GeoDataFrame:
    """Read a GeoJSON, GeoPackage or (zipped) Shapefile layer through pyogrio."""
    chosen = choose_layer(path, layer, wanted)
    try:
        info = pyogrio.read_info(path, layer=chosen, encoding=encoding)
        # Heights play no part in a city's plan: Z (and M) are dropped, as PostGIS holds 2D.
        frame = pyogrio.read_dataframe(path, layer=chosen, encoding=encoding, force_2d=True)
    except LookupError:
        raise ReadError(f"--encoding '{encoding}' is not an encoding Python knows") from None
    except Exception as error:
        raise ReadError(f"cannot read {path}: {open_problem(path, error)}") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ReadError(f"{path} holds no geometry column")
    if encoding is None:
        check_declared_encoding(path, frame, info)
    return frame


def find_column(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """Return the first column named as one of ``candidates``: exactly, else ignoring case.

    Two columns that differ only in case (``Lon`` and ``LON``) and neither exactly as
    asked are ambiguous: a ReadError names them rather than take one silently.
    """
    for name in candidates:
        if name in columns:
            return name
        matches = [column for column in columns if str(column).strip().lower() == name]
        if len(matches) > 1:
            raise ReadError(
                f"columns {' and '.join(matches)} differ only in case: rename one, or name "
                f"the one to use with --map"
            )
        if matches:
            return matches[0]
    return None


def csv_header(path: Path, encoding: str) -> list[str]:
    """Return the CSV's column names as written (pandas renames a repeat to ``name.1``)."""
    with path.open(encoding=encoding, newline="") as file:
        return next(csv.reader(file), [])


def read_csv_table(path: Path, encoding: str | None) -> pd.DataFrame:
    """Read the CSV's cells as text; refuse an empty file, a wrong encoding, repeated columns."""
    chosen = encoding or "utf-8-sig"
    try:
        header = csv_header(path, chosen)
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=chosen)
    except LookupError:
        raise ReadError(f"--encoding '{encoding}' is not an encoding Python knows") from None
    except UnicodeDecodeError as error:
        where = f"byte 0x{error.object[error.start]:02x} at position {error.start}"
        hint = ENCODING_HINT if encoding is None else "give the file's own --encoding"
        raise ReadError(f"{path} is not {encoding or 'UTF-8'} text ({where}); {hint}") from None
    except pd.errors.EmptyDataError:
        raise ReadError(f"{path} is empty: a CSV needs a header line and rows") from None
    except (OSError, pd.errors.ParserError) as error:
        raise ReadError(f"cannot read {path} as CSV: {error}") from None
    repeated = sorted(name for name, count in Counter(header).items() if count > 1)
    if repeated:
        raise ReadError(f"{path} has more than one column named {', '.join(repeated)}")
    return table


def read_csv(path: Path, encoding: str | None = None) -> SourceFrame:
    """Read a CSV with lon/lat columns (points) or a WKT column; every other column as text."""
    table = read_csv_table(path, encoding)
    columns = list(table.columns)
    lon, lat = find_column(columns, LON_COLUMNS), find_column(columns, LAT_COLUMNS)
    wkt = find_column(columns, WKT_COLUMNS)
    problems: list[Problem] = []
    if lon is not None and lat is not None:
        xs = pd.to_numeric(table[lon].str.strip(), errors="coerce").to_numpy(dtype=float)
        ys = pd.to_numeric(table[lat].str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(xs) | np.isnan(ys)
        for index in np.flatnonzero(bad):
            problems.append(
                Problem(
                    int(index) + 1,
                    f"{lon}/{lat}",
                    f"'{table[lon].iat[index]}', '{table[lat].iat[index]}' is not a lon/lat pair",
                )
            )
        geometry = shapely.points(xs, ys)
        geometry[bad] = None
        table = table.drop(columns=[lon, lat])
    elif wkt is not None:
        texts = table[wkt].to_numpy(dtype=object)
        with warnings.catch_warnings():  # unreadable WKT is reported per row below
            warnings.simplefilter("ignore", RuntimeWarning)
            geometry = shapely.force_2d(shapely.from_wkt(texts, on_invalid="ignore"))
        for index in np.flatnonzero(shapely.is_missing(geometry)):
            problems.append(Problem(int(index) + 1, wkt, "empty or unreadable WKT"))
        table = table.drop(columns=[wkt])
    else:
        raise ReadError(
            f"{path}: a CSV needs lon and lat columns (or lng/longitude/x, lat/latitude/y) "
            f"or a wkt column; its columns: {', '.join(columns)}"
        )
    return SourceFrame(gpd.GeoDataFrame(table, geometry=geometry, crs=None), problems)


def read_source(
    path: Path, layer: str | None = None, wanted: str = "", encoding: str | None = None
) -> SourceFrame:
    """Read ``path`` by its extension; ``wanted`` names the layer tried in a multi-layer file.

    ``encoding`` is the text's (CSV: UTF-8 by default; other formats: what the file says).
    """
    if not path.exists():
        raise ReadError(f"no such file: {path}")
    if path.suffix.lower() in (".csv", ".txt"):
        source = read_csv(path, encoding)
    else:
        source = SourceFrame(read_vector(path, layer, wanted, encoding))
    source.frame = source.frame.reset_index(drop=True)
    return source


def shift_to_wgs84(geometry: gpd.GeoSeries, system: coords.CoordinateSystem) -> gpd.GeoSeries:
    """Move every vertex from GCJ-02 or BD-09 lon/lat to WGS-84."""

    def shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = coords.to_wgs84(xy[:, 0], xy[:, 1], system)
        return np.column_stack([lon, lat])

    return gpd.GeoSeries(shapely.transform(geometry.to_numpy(), shift), crs=WGS84)


def to_wgs84(frame: gpd.GeoDataFrame, crs: str | None) -> gpd.GeoDataFrame:
    """Bring ``frame`` to WGS-84 from ``crs`` (wgs84, gcj02, bd09 or EPSG:n).

    Without ``crs`` the file's own CRS is used, and WGS-84 when it declares none. With
    ``crs`` the file's declaration is overridden: GCJ-02 data is often labelled EPSG:4326.
    """
    if crs is None:
        return frame.set_crs(WGS84) if frame.crs is None else frame.to_crs(WGS84)
    try:
        system = coords.parse_coordinate_system(crs)
    except ValueError:
        system = None
    if system is None:
        try:
            declared = CRS.from_user_input(crs)
        except Exception:  # pyproj raises CRSError and others
            raise ReadError(
                f"--crs '{crs}' is neither wgs84, gcj02, bd09 nor a CRS such as EPSG:4490"
            ) from None
        return frame.set_crs(declared, allow_override=True).to_crs(WGS84)
    if frame.crs is not None and not CRS.from_user_input(frame.crs).is_geographic:
        raise ReadError(
            f"--crs {system.value} means lon/lat degrees, but the file declares "
            f"{frame.crs.to_string()}, a projected CRS"
        )
    frame = frame.set_crs(WGS84, allow_override=True)
    if system is not coords.CoordinateSystem.WGS84:
        frame = frame.set_geometry(shift_to_wgs84(frame.geometry, system))
    return frame


def field_column(columns: list[str], target: str, mapping: dict[str, str]) -> str | None:
    """Return the file's column for ``target``: mapped, same name, shapefile-cut name, any case."""
    if target in mapping:
        return mapping[target]
    if target in columns:
        return target
    cut = target[:SHAPEFILE_FIELD_LENGTH]
    for name in (target.lower(), cut.lower()):
        found = find_column(columns, (name,))
        if found is not None:
            return found
    return None


def select_fields(
    frame: gpd.GeoDataFrame, layer: Layer, mapping: dict[str, str], constants: dict[str, str]
) -> gpd.GeoDataFrame:
    """Take the layer's fields from the file's columns (``--map``) or constants (``--set``).

    A field the file lacks is left out; validation fills defaults and names what is missing.
    """
    columns = [str(column) for column in frame.columns if column != frame.geometry.name]
    unknown = sorted((set(mapping) | set(constants)) - set(layer.fields))
    if unknown:
        raise ReadError(
            f"{layer.name} have no field {', '.join(unknown)}; "
            f"their fields: {', '.join(layer.fields)}"
        )
    missing = sorted(source for source in mapping.values() if source not in columns)
    if missing:
        raise ReadError(
            f"--map names column(s) {', '.join(missing)} the file does not have; "
            f"its columns: {', '.join(columns)}"
        )
    selected: dict[str, object] = {}
    for target in layer.fields:
        if target in constants:
            selected[target] = pd.Series(constants[target], index=frame.index, dtype=object)
            continue
        column = field_column(columns, target, mapping)
        if column is not None:
            selected[target] = frame[column]
    return gpd.GeoDataFrame(selected, geometry=frame.geometry.to_numpy(), crs=frame.crs)
