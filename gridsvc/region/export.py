"""A gridsvc database's current city, exported to the region layout.

The layers are what the single-process refresh reads (:func:`gridsvc.coverage.refresh.
load_inputs`: current grids, residents, facilities, walking network, in the settings'
metric CRS, projected by PostGIS), so coverage on Dask starts from the very same numbers.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from gridsvc.coverage import refresh
from gridsvc.grids import service as grids_service
from gridsvc.region import layout
from gridsvc.region.partition import inputs_to_layers


def export_city(session: Session, root: str | Path, code: str, name: str = "") -> layout.CityEntry:
    """Write the database's current city into the region at ``root`` as city ``code``.

    Raises
    ------
    ValueError
        If the database holds no current grids.
    """
    inputs = refresh.load_inputs(session)
    if inputs.grids.empty:
        raise ValueError("the database holds no current grids: load or build a city first")
    crs = f"EPSG:{grids_service.metric_srid(session)}"
    layout.write_city(root, code, inputs_to_layers(inputs, crs))
    entry = layout.CityEntry(
        code=code,
        name=name or code,
        crs=crs,
        source="database",
        grids=len(inputs.grids),
        residents=int(inputs.resident_persons.sum()),
    )
    layout.add_to_manifest(root, entry)
    return entry
