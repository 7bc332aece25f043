"""OpenStreetMap in: the walking network and facilities from an ``.osm.pbf``, through pyrosm.

The network keeps the ways whose ``highway`` is one of the mapping file's walking highways
(footways, paths, pedestrian and residential streets, crossings...), split at junctions by
pyrosm, and only its largest connected component, so every node reaches every other.
Lengths are metres in the UTM zone of the extract; when that is not the zone the city's
coverage is measured in (``GRIDSVC_METRIC_CRS``), the import says so. Facilities come from
the tag rules of :mod:`gridsvc.geodata.tagmap`; areas (a park, a school yard) become a
point inside them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common.errors import GridsvcError
from gridsvc.common.geojson import BBox
from gridsvc.common.postgis import copy_rows, ewkb_hex
from gridsvc.config import utm_crs
from gridsvc.geodata.loading import write_facilities
from gridsvc.geodata.tagmap import TagMap, load_tag_map
from gridsvc.grids import service as grids_service

OSM_SOURCE = "osm"


@dataclass
class OsmLoad:
    """What an OSM import loaded."""

    nodes: int
    edges: int
    length_km: float
    facilities: int
    facility_types: dict[str, int] = field(default_factory=dict)
    #: Warnings for the person importing (the extract lying outside the city's UTM zone).
    warnings: list[str] = field(default_factory=list)


def open_extract(path: Path, bbox: BBox | None) -> Any:
    """Open the PBF with pyrosm, cropped to ``bbox`` when given."""
    try:
        import pyrosm
    except ImportError:
        raise GridsvcError(
            "OpenStreetMap imports need pyrosm: pip install 'gridsvc[osm]'"
        ) from None

    if not path.exists():
        raise GridsvcError(f"no such file: {path}")
    box = None if bbox is None else [bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat]
    try:
        return pyrosm.OSM(str(path), bounding_box=box)
    except Exception as error:  # pyrosm raises plain exceptions
        raise GridsvcError(f"cannot read {path} as OpenStreetMap PBF: {error}") from None


def largest_component(sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Mask of the edges in the largest connected component of the undirected graph."""
    ids, inverse = np.unique(np.concatenate([sources, targets]), return_inverse=True)
    count = len(sources)
    graph = coo_matrix(
        (np.ones(count), (inverse[:count], inverse[count:])), shape=(len(ids), len(ids))
    )
    _, labels = connected_components(graph, directed=False)
    biggest = np.bincount(labels).argmax()
    return labels[inverse[:count]] == biggest


def walking_network(osm: Any, tag_map: TagMap) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes (``node_id``) and edges (``source``, ``target``, ``length_m``) to walk on."""
    found = osm.get_network(network_type="walking", nodes=True)
    empty = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    if found is None or found[1] is None or found[1].empty:
        return empty, empty
    nodes, edges = found
    walkable = edges["highway"].isin(tag_map.walking_highways)
    if "footway" in edges:
        walkable |= edges["footway"].eq("crossing")
    edges = edges[walkable].explode(index_parts=False)
    edges = edges[edges.geom_type == "LineString"]
    if edges.empty:
        return empty, empty
    edges = edges[largest_component(edges["u"].to_numpy(), edges["v"].to_numpy())]
    length = edges.to_crs(utm_crs(*edges.total_bounds)).length.to_numpy()
    edges = gpd.GeoDataFrame(
        {
            "source": edges["u"].astype("int64").to_numpy(),
            "target": edges["v"].astype("int64").to_numpy(),
            "length_m": length,
        },
        geometry=edges.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    edges = edges[edges["length_m"] > 0]
    used = np.unique(np.concatenate([edges["source"], edges["target"]]))
    nodes = nodes[nodes["id"].isin(used)].drop_duplicates("id")
    nodes = gpd.GeoDataFrame(
        {"node_id": nodes["id"].astype("int64").to_numpy()},
        geometry=nodes.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    return nodes, edges


def feature_tags(row: pd.Series, keys: list[str]) -> dict[str, Any]:
    """Collect a feature's tags: pyrosm's tag columns and the JSON of its other tags."""
    tags: dict[str, Any] = {}
    extra = row.get("tags")
    if isinstance(extra, str) and extra:
        try:
            tags.update(json.loads(extra))
        except json.JSONDecodeError:
            pass
    elif isinstance(extra, dict):
        tags.update(extra)
    tags.update({key: row[key] for key in keys if key in row and isinstance(row[key], str)})
    return tags


def osm_facilities(osm: Any, tag_map: TagMap) -> gpd.GeoDataFrame:
    """Facilities (``type_code``, ``name``, ``capacity``, ``source``) from the tag rules."""
    wanted = tag_map.tag_filter()
    pois = osm.get_pois(custom_filter=wanted)
    columns = {"type_code": [], "name": [], "capacity": [], "source": []}
    if pois is None or pois.empty:
        return gpd.GeoDataFrame(columns, geometry=[], crs="EPSG:4326")
    keys = list(wanted)
    types = [tag_map.type_of(feature_tags(row, keys)) for _, row in pois.iterrows()]
    pois = pois.assign(type_code=types)
    pois = pois[pois["type_code"].notna() & pois.geometry.notna() & ~pois.geometry.is_empty]
    names = pois["name"] if "name" in pois else pd.Series(None, index=pois.index)
    fallback = pois["type_code"].map(lambda t: tag_map.facility_types[t]["name"])
    return gpd.GeoDataFrame(
        {
            "type_code": pois["type_code"].to_numpy(),
            "name": names.where(names.notna() & (names != ""), fallback).to_numpy(),
            "capacity": [None] * len(pois),
            "source": [OSM_SOURCE] * len(pois),
        },
        geometry=pois.geometry.representative_point().to_numpy(),
        crs="EPSG:4326",
    )


def write_network(session: Session, nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> None:
    """COPY the walking network (the tables must be empty)."""
    copy_rows(
        session,
        "network_nodes",
        ["id", "geom"],
        zip(nodes["node_id"].tolist(), ewkb_hex(nodes.geometry), strict=True),
    )
    copy_rows(
        session,
        "network_edges",
        ["source", "target", "length_m", "geom"],
        zip(
            edges["source"].tolist(),
            edges["target"].tolist(),
            edges["length_m"].tolist(),
            ewkb_hex(edges.geometry),
            strict=True,
        ),
    )


def clear_earlier(session: Session, replace: bool) -> None:
    """Remove the earlier network and OSM facilities, or refuse when not asked to replace."""
    network = session.scalar(text("SELECT count(*) FROM network_nodes"))
    facilities = session.scalar(
        text("SELECT count(*) FROM facilities WHERE source = :source"), {"source": OSM_SOURCE}
    )
    if (network or facilities) and not replace:
        raise GridsvcError(
            f"the database already holds a walking network ({network} nodes) or OSM "
            f"facilities ({facilities}); --replace loads this extract instead"
        )
    session.execute(text("DELETE FROM network_edges"))
    session.execute(text("DELETE FROM network_nodes"))
    session.execute(text("DELETE FROM facilities WHERE source = :source"), {"source": OSM_SOURCE})


def zone_warnings(edges: gpd.GeoDataFrame, used: str) -> list[str]:
    """Say so when the extract's UTM zone is not ``used``, the CRS coverage is measured in."""
    if edges.empty:
        return []
    west, south, east, north = edges.total_bounds
    own = utm_crs(west, south, east, north)
    if own == used:
        return []
    return [
        f"the extract lies in UTM zone {own}, but distances are measured in {used} "
        "(GRIDSVC_METRIC_CRS, else the zone stored with the loaded city, else the zone of "
        "GRIDSVC_CITY_BBOX): load this city's districts, or set GRIDSVC_METRIC_CRS to " + own
    ]


def import_osm_file(
    session: Session, path: Path, bbox: BBox | None = None, replace: bool = False
) -> OsmLoad:
    """Load the walking network and facilities of an OSM extract in the caller's transaction."""
    tag_map = load_tag_map()
    osm = open_extract(path, bbox)
    nodes, edges = walking_network(osm, tag_map)
    facilities = osm_facilities(osm, tag_map)
    session.execute(text("LOCK TABLE network_nodes, network_edges, facilities IN EXCLUSIVE MODE"))
    clear_earlier(session, replace)
    if len(edges):
        write_network(session, nodes, edges)
    if len(facilities):
        write_facilities(session, facilities, replace=False, progress=True)
    session.execute(text("ANALYZE network_nodes, network_edges, facilities"))
    return OsmLoad(
        nodes=len(nodes),
        edges=len(edges),
        length_km=float(edges["length_m"].sum()) / 1000 if len(edges) else 0.0,
        facilities=len(facilities),
        facility_types=facilities["type_code"].value_counts().to_dict(),
        warnings=zone_warnings(edges, grids_service.metric_crs(session)),
    )
