"""Downloads of whole layers: ``GET /api/v1/export/{layer}.geojson`` and ``.gpkg``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

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


@router.get("/{layer}.geojson", summary=f"A layer as GeoJSON ({LAYER_LIST})")
@heavy
def export_geojson(layer: str, session: SessionDep) -> Response:
    """Every current feature of the layer as one RFC 7946 FeatureCollection."""
    text = export_service.layer_geojson(session, known_layer(layer))
    disposition = f'attachment; filename="{layer}.geojson"'
    return Response(
        text, media_type=GEOJSON_MEDIA_TYPE, headers={"Content-Disposition": disposition}
    )


@router.get("/{layer}.gpkg", summary=f"A layer as GeoPackage ({LAYER_LIST})")
@heavy
def export_geopackage(layer: str, session: SessionDep) -> FileResponse:
    """Every current feature of the layer in a GeoPackage, for QGIS and GDAL."""
    folder = tempfile.TemporaryDirectory(prefix="gridsvc-export-")
    path = Path(folder.name) / f"{known_layer(layer)}.gpkg"
    export_service.export_to_file(session, layer, path)
    return FileResponse(
        path,
        media_type="application/geopackage+sqlite3",
        filename=path.name,
        background=BackgroundTask(folder.cleanup),
    )
