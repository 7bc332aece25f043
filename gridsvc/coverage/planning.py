"""Planning on coverage: what-if changes to facilities, and siting new ones.

Both work on the city in memory (see :func:`gridsvc.coverage.cache.city_inputs`) and
never write to the database.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree
from sqlalchemy.orm import Session

from gridsvc.common.coords import (
    CoordinateSystem,
    from_wgs84,
    parse_coordinate_system,
    to_wgs84,
)
from gridsvc.common.errors import InvalidParameterError
from gridsvc.common.extent import check_in_city
from gridsvc.config import get_settings
from gridsvc.coverage import analysis, scenario, siting
from gridsvc.coverage import network as walking
from gridsvc.coverage.cache import city_inputs
from gridsvc.coverage.circles import Circle
from gridsvc.facilities import service as facilities_service
from gridsvc.grids import placing as grid_placing
from gridsvc.grids import service as grids_service

# Above this many candidate × demand pairs the exact MILP is not tried unless asked for.
EXACT_PAIRS_LIMIT = 300_000


@dataclass(frozen=True)
class Place:
    """A point given by a caller: lon/lat in ``crs`` (wgs84, gcj02 or bd09)."""

    lon: float
    lat: float
    crs: str = "wgs84"


def check_places(places: list[Place], field: str) -> None:
    """Refuse a place outside the city, naming it as the caller did (``add[0].lon``)."""
    for index, place in enumerate(places):
        lon, lat = to_wgs84(place.lon, place.lat, place.crs)
        check_in_city(float(lon), float(lat), f"{field}[{index}].")


# Transformers are slow to make and not to be shared between threads: one per thread and pair.
_TRANSFORMERS = threading.local()


def _transformer(source: int | str, target: int | str) -> Transformer:
    made = _TRANSFORMERS.__dict__
    if (source, target) not in made:
        made[source, target] = Transformer.from_crs(source, target, always_xy=True)
    return made[source, target]


def to_metric(places: list[Place], srid: int) -> np.ndarray:
    """Return the places in the city's metric CRS ``srid``, shape (n, 2)."""
    if not places:
        return np.zeros((0, 2))
    metric = _transformer(4326, srid)
    xy = []
    for place in places:
        lon, lat = to_wgs84(place.lon, place.lat, place.crs)
        xy.append(metric.transform(float(lon), float(lat)))
    return np.array(xy, dtype=np.float64)


def to_lonlat(xy: np.ndarray, srid: int) -> np.ndarray:
    """Return points in the metric CRS ``srid`` as WGS-84 lon/lat, shape (n, 2)."""
    back = _transformer(srid, 4326)
    lon, lat = back.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


@dataclass
class Change:
    """Facilities to add (type and place), move (id and place) and remove (ids)."""

    add: list[tuple[str, Place]]
    move: list[tuple[int, Place]]
    remove: list[int]


def check_change(session: Session, change: Change, circle: Circle) -> None:
    """Refuse added facilities of unknown types or of types the circle does not count."""
    known = set(facilities_service.type_codes(session))
    for index, (code, _) in enumerate(change.add):
        name = f"add[{index}].type_code"
        if code not in known:
            facilities_service.check_type_codes(session, [code], name, "body")
        if code not in circle.facility_types:
            counted = ", ".join(circle.facility_types)
            raise InvalidParameterError(
                name, f"'{code}' is not a type of circle {circle.code} ({counted})", "body"
            )
    check_places([place for _, place in change.add], "add")
    check_places([place for _, place in change.move], "move")


def _apply(
    inputs: analysis.CityInputs, change: Change, circle: Circle, srid: int
) -> scenario.After:
    """Return the circle's facilities after the change, and the places that changed.

    ``srid`` is the metric CRS ``inputs`` are in, the city's (``grids_service.metric_srid``).
    """
    ids = inputs.facility_ids
    position = scenario.facility_positions(inputs)
    for field, asked in (("remove", change.remove), ("move", [m[0] for m in change.move])):
        for index, facility in enumerate(asked):
            if facility not in position:
                name = f"{field}[{index}]" + (".id" if field == "move" else "")
                raise InvalidParameterError(name, f"no facility with id {facility} here", "body")
    xy = inputs.facility_xy.copy()
    moved_to = to_metric([place for _, place in change.move], srid)
    changed = [xy[[position[i] for i in change.remove]].reshape(-1, 2)]
    for (facility, _), target in zip(change.move, moved_to, strict=True):
        changed.append(np.vstack([xy[position[facility]], target]))
        xy[position[facility]] = target
    keep = np.zeros(len(ids), dtype=bool)
    keep[inputs.facilities_of(circle.facility_types)] = True
    keep[[position[i] for i in change.remove]] = False
    added = to_metric([place for _, place in change.add], srid).reshape(-1, 2)
    changed.append(added)
    rows = np.concatenate([np.flatnonzero(keep), np.full(len(added), -1)])
    return scenario.After(np.vstack([xy[keep], added]), rows, np.vstack(changed))


def what_if(
    session: Session,
    circle: Circle,
    mode: str,
    weight: str,
    district: str | None,
    change: Change,
) -> dict[str, Any]:
    """Coverage change per grid and in total if facilities were added, moved or removed."""
    started = time.perf_counter()
    check_change(session, change, circle)
    inputs = city_inputs(session, district)
    limit = circle.threshold_m
    base = scenario.baseline(inputs, circle.key, circle.facility_types, mode, limit)
    after = _apply(inputs, change, circle, grids_service.metric_srid(session))
    limits = (limit, get_settings().service_area_buffer_m)
    tables = scenario.outcome(inputs, base, after, mode, limits)
    rows = analysis.change(tables[0], tables[1], weight)
    residents, before = base.residents, base.covered
    after_count = before + int(
        (tables[1]["covered_residents"] - tables[0]["covered_residents"]).sum()
    )
    return {
        "circle": circle.code,
        "mode": mode,
        "weight": weight,
        "residents": residents,
        "covered_before": before,
        "covered_after": after_count,
        "residents_gained": after_count - before,
        "coverage_before": round(before / residents, 6) if residents else None,
        "coverage_after": round(after_count / residents, 6) if residents else None,
        "area_gained_m2": round(
            float((rows["covered_area_after"] - rows["covered_area_before"]).sum()), 1
        ),
        "grids": _plain(rows),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _plain(frame: Any) -> list[dict[str, Any]]:
    records = frame.round(6)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in records.to_dict("records")
    ]


def _gap_nodes(inputs: analysis.CityInputs, uncovered_grid: np.ndarray) -> np.ndarray:
    """Network nodes inside grids that have uncovered residents."""
    if not analysis.has_network(inputs):
        return np.zeros(0, dtype=np.int64)
    net = inputs.network
    gap_grids = inputs.grids["geometry"].to_numpy()[np.unique(uncovered_grid)]
    tree = shapely.STRtree(gap_grids)
    nodes, _ = tree.query(shapely.points(net.node_xy), predicate="intersects")
    return np.unique(nodes)


def cover_matrix(
    inputs: analysis.CityInputs,
    candidate_xy: np.ndarray,
    demand: np.ndarray,
    mode: str,
    limit: float,
) -> csr_matrix:
    """Candidates × demand residents (rows of the inputs), 1 where within ``limit``."""
    shape = (len(candidate_xy), len(demand))
    if mode == "euclidean" or not analysis.has_network(inputs):
        if mode != "euclidean" or not len(demand):
            return csr_matrix(shape)
        tree = cKDTree(inputs.resident_xy[demand])
        lists = tree.query_ball_point(candidate_xy, limit)
        rows = np.repeat(np.arange(len(lists)), [len(x) for x in lists])
        cols = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists]) if len(rows) else []
        return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    sources = walking.snap(inputs.network, candidate_xy)
    points = inputs.resident_snaps.take(demand)
    rows, cols = [], []
    for indices, distances in walking.each_source_distances(inputs.network, sources, limit):
        pairs = walking.reached_points(inputs.network, distances, indices, sources, points, limit)
        rows.append(pairs[0])
        cols.append(pairs[1])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)


@dataclass
class SitingAsk:
    """What a planner asks: k sites, from given places or the network nodes in gap grids."""

    k: int
    places: list[Place] | None = None
    method: str = "auto"
    max_candidates: int = 3000


def _candidates(
    inputs: analysis.CityInputs, ask: SitingAsk, uncovered: np.ndarray, srid: int
) -> tuple[np.ndarray, np.ndarray | None, list[str], int]:
    """Candidate points (metric), their node ids when network nodes, notes, how many before.

    The last is the number of candidates there were before any was left out.
    """
    notes: list[str] = []
    if ask.places:
        places = to_metric(ask.places, srid)
        return places, None, notes, len(places)
    nodes = _gap_nodes(inputs, inputs.resident_grid[uncovered])
    before = len(nodes)
    if len(nodes) > ask.max_candidates:
        nodes = nodes[np.linspace(0, len(nodes) - 1, ask.max_candidates).astype(np.int64)]
        notes.append(f"{ask.max_candidates} gap nodes taken evenly from {before:,}")
    return inputs.network.node_xy[nodes], inputs.network.node_ids[nodes], notes, before


def _solve(weights: np.ndarray, cover: csr_matrix, k: int, method: str) -> dict[str, Any]:
    """Run greedy, the exact MILP, or both (and report the greedy's gap to the optimum)."""
    small = cover.nnz <= EXACT_PAIRS_LIMIT
    run_exact = method in ("exact", "both") or (method == "auto" and small)
    run_greedy = method in ("greedy", "both", "auto")
    answer: dict[str, Any] = {}
    timings: dict[str, float] = {}
    if run_greedy:
        started = time.perf_counter()
        answer["greedy"] = siting.lazy_greedy(weights, cover, k)
        timings["greedy"] = time.perf_counter() - started
    if run_exact:
        started = time.perf_counter()
        answer["exact"] = siting.exact(weights, cover, k)
        timings["exact"] = time.perf_counter() - started
    best = answer.get("exact") or answer["greedy"]
    result: dict[str, Any] = {"best": best, "timings": timings}
    if "exact" in answer and "greedy" in answer and answer["exact"].objective > 0:
        optimum = answer["exact"].objective
        result["greedy_objective"] = answer["greedy"].objective
        result["optimum"] = optimum
        result["greedy_gap_pct"] = round(100 * (optimum - answer["greedy"].objective) / optimum, 4)
    return result


def site_names(session: Session, lon: float, lat: float) -> dict[str, Any]:
    """Code and name of the grid holding a site, and of its community and street."""
    placed = grid_placing.place_point(session, lon, lat, snap_distance_m=0) or {}
    keys = ("grid_code", "grid_name", "community_name", "street_name", "district_name")
    return {key: placed.get(key) for key in keys}


def sites_in(answer: dict[str, Any], crs: str) -> dict[str, Any]:
    """Return a siting answer with its sites' lon/lat in ``crs`` (it says which, as ``crs``).

    The sites are found in WGS-84; a map on a GCJ-02 base map draws them shifted, with
    the project's own transform, so they sit on the right street of its tiles.
    """
    system = parse_coordinate_system(crs)
    if system is CoordinateSystem.WGS84:
        return {**answer, "crs": system.value}
    sites = []
    for item in answer["sites"]:
        lon, lat = from_wgs84(item["lon"], item["lat"], system)
        sites.append({**item, "lon": round(float(lon), 7), "lat": round(float(lat), 7)})
    return {**answer, "sites": sites, "crs": system.value}


def sites_geojson(answer: dict[str, Any]) -> dict[str, Any]:
    """Return a siting answer as GeoJSON: one point per site, the rest under ``siting``."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]},
            "properties": {k: v for k, v in item.items() if k not in ("lon", "lat")},
        }
        for item in answer["sites"]
    ]
    summary = {key: value for key, value in answer.items() if key != "sites"}
    return {"type": "FeatureCollection", "features": features, "siting": summary}


def _site_rows(
    session: Session, candidate_xy: np.ndarray, node_ids: np.ndarray | None, best: siting.Sites
) -> list[dict[str, Any]]:
    """Return the chosen sites, best first: place, node, residents gained, grid names."""
    srid = grids_service.metric_srid(session)
    lonlat = to_lonlat(candidate_xy[best.chosen], srid) if best.chosen else np.zeros((0, 2))
    return [
        {
            "rank": rank + 1,
            "lon": round(float(lonlat[rank, 0]), 7),
            "lat": round(float(lonlat[rank, 1]), 7),
            "node_id": None if node_ids is None else int(node_ids[candidate]),
            "residents_gained": int(round(gain)),
            **site_names(session, float(lonlat[rank, 0]), float(lonlat[rank, 1])),
        }
        for rank, (candidate, gain) in enumerate(zip(best.chosen, best.gains, strict=True))
    ]


def site(
    session: Session,
    circle: Circle,
    mode: str,
    district: str | None,
    ask: SitingAsk,
) -> dict[str, Any]:
    """Find k sites covering the most residents that no facility of the circle reaches now."""
    started = time.perf_counter()
    check_places(ask.places or [], "candidates")
    inputs = city_inputs(session, district)
    limit = circle.threshold_m
    distance = scenario.baseline(inputs, circle.key, circle.facility_types, mode, limit).distance
    uncovered = np.flatnonzero((distance > limit) & (inputs.resident_grid >= 0))
    srid = grids_service.metric_srid(session)
    candidate_xy, node_ids, notes, candidates_before = _candidates(inputs, ask, uncovered, srid)
    if len(candidate_xy) == 0:
        raise InvalidParameterError("candidates", "no candidate sites: give points", "body")
    weights = inputs.resident_persons[uncovered].astype(np.float64)
    cover = cover_matrix(inputs, candidate_xy, uncovered, mode, limit)
    solved = _solve(weights, cover, ask.k, ask.method)
    best: siting.Sites = solved["best"]
    sites = _site_rows(session, candidate_xy, node_ids, best)
    extra = {key: solved.get(key) for key in ("optimum", "greedy_objective", "greedy_gap_pct")}
    # Optimal means over every candidate: over an evenly taken subset it is not.
    subset = len(candidate_xy) < candidates_before
    if subset and best.optimal:
        notes.append("optimal over the candidates taken, not over every gap node")
    return {
        "circle": circle.code,
        "mode": mode,
        "k": ask.k,
        "method": best.method,
        "optimal": best.optimal and not subset,
        "uncovered_before": int(weights.sum()),
        "residents_gained": int(round(best.objective)),
        "candidates": len(candidate_xy),
        "sites": sites,
        **{key: value for key, value in extra.items() if value is not None},
        "timings_s": {key: round(value, 3) for key, value in solved["timings"].items()},
        "notes": notes + best.notes,
        "seconds": round(time.perf_counter() - started, 3),
    }
