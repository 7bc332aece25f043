"""Downloads of whole layers: ``GET /api/v1/export/{layer}.geojson`` and ``.gpkg``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from gridsvc.common.coords import CoordinateSystem
from gridsvc.common.errors import NotFoundError
from gridsvc.common.geojson import GEOJSON_MEDIA_TYPE
from gridsvc.common.heavy import heavy
from gridsvc.db import SessionDep
from gridsvc.geodata import export as export_service
from gridsvc.geodata.layers import EXPORT_LAYERS

router = APIRouter(prefix="/api/v1/export", tags=["export"])
LAYER_LIST = ", ".join(EXPORT_LAYERS)


def known_layer(layer: str) -> str:
    """Return ``layer`` if it can be exported, else raise a 404 naming the layers."""
    if layer not in EXPORT_LAYERS:
        raise NotFoundError(f"no layer '{layer}'; layers: {LAYER_LIST}")
    return layer


CrsQuery = Annotated[
    CoordinateSystem,
    Query(description="Coordinates: wgs84 (default), or gcj02/bd09 (named so in the file)."),
]
DistrictQuery = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{6}$", description="Only this district's rows (404 if unknown)."),
]


@router.get("/{layer}.geojson", summary=f"A layer as GeoJSON ({LAYER_LIST})")
@heavy
def export_geojson(
    layer: str,
    session: SessionDep,
    crs: CrsQuery = CoordinateSystem.WGS84,
    district: DistrictQuery = None,
) -> Response:
    """Every current feature of the layer (of one district) as one FeatureCollection."""
    text = export_service.layer_geojson(session, known_layer(layer), crs.value, district)
    name = export_service.file_name(layer, ".geojson", crs.value, district)
    disposition = f'attachment; filename="{name}"'
    return Response(
        text, media_type=GEOJSON_MEDIA_TYPE, headers={"Content-Disposition": disposition}
    )


@router.get("/{layer}.gpkg", summary=f"A layer as GeoPackage ({LAYER_LIST})")
@heavy
def export_geopackage(
    layer: str,
    session: SessionDep,
    crs: CrsQuery = CoordinateSystem.WGS84,
    district: DistrictQuery = None,
) -> FileResponse:
    """Every current feature of the layer (of one district) in a GeoPackage 1.2."""
    name = export_service.file_name(known_layer(layer), ".gpkg", crs.value, district)
    folder = tempfile.TemporaryDirectory(prefix="gridsvc-export-")
    path = Path(folder.name) / name
    try:
        export_service.export_to_file(session, layer, path, crs.value, district)
    except BaseException:
        folder.cleanup()
        raise
    return FileResponse(
        path,
        media_type="application/geopackage+sqlite3",
        filename=path.name,
        background=BackgroundTask(folder.cleanup),
    )
