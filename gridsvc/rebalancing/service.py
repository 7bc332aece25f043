"""A rebalancing proposal for a district, street or community: read, compute, tabulate.

Reads the current communities, grids and resident points of the scope, hands each
community to :func:`gridsvc.grids.rebalance.propose_community` in the UTM zone of the
scope, and counts every new grid's residents, households and load from the points.
Households and grid workers are known per grid only: each point carries its share of its
grid's count by persons (:func:`gridsvc.grids.rebalance.shares`, a fraction), and a new
grid's count is its points' shares summed and rounded (so the new counts may sum a few
households off the old total).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common import postgis
from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.config import get_settings
from gridsvc.grids import rebalance
from gridsvc.grids.rebalance import Band
from gridsvc.grids.service import check_code

MEASURES = ("households", "residents", "grid_workers")
LEVELS = {"district": "d", "street": "s", "community": "c"}

_COMMUNITIES = (
    "SELECT c.code, c.name, c.kind, s.code AS street_code, d.code AS district_code, "
    "ST_AsBinary(c.geom) AS wkb FROM communities c JOIN streets s ON s.id = c.street_id "
    "JOIN districts d ON d.id = s.district_id WHERE c.valid_to IS NULL "
    "AND {level}.code = :code ORDER BY c.code"
)
_GRIDS = (
    "SELECT g.code, g.name, c.code AS community_code, g.population, g.households, "
    "g.grid_workers, g.generation, ST_AsBinary(g.geom) AS wkb FROM grids g "
    "JOIN communities c ON c.id = g.community_id "
    "WHERE g.valid_to IS NULL AND c.code = ANY(:codes) ORDER BY g.code"
)
# Each point goes to the current grid of the scope holding it, the lowest code on an edge.
_POINTS = (
    "SELECT DISTINCT ON (p.id) p.id, p.persons, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, "
    "g.code AS grid_code FROM population_points p JOIN grids g "
    "ON g.valid_to IS NULL AND ST_Intersects(g.geom, p.geom) "
    "JOIN communities c ON c.id = g.community_id WHERE c.code = ANY(:codes) "
    "ORDER BY p.id, g.code"
)


@dataclass(frozen=True)
class RebalanceRequest:
    """What a planner asks for: a scope, a band of load per grid, the measure of load."""

    level: str
    code: str
    band: Band
    measure: str = "households"
    workers_per_household: float = field(
        default_factory=lambda: get_settings().rebalance_workers_per_household
    )


@dataclass
class Proposal:
    """New grids beside today's, the change table, the counts out of band, and its id."""

    request: RebalanceRequest
    communities: pd.DataFrame
    old_grids: gpd.GeoDataFrame
    new_grids: gpd.GeoDataFrame
    changes: pd.DataFrame
    generation: int
    id: str = ""

    def summary(self) -> dict:
        """Count before and after: grids, grids out of band, mean compactness."""
        old, new = self.old_grids, self.new_grids
        return {
            "communities": len(self.communities),
            "grids_before": len(old),
            "grids_after": len(new),
            "out_of_band_before": int((~old["in_band"]).sum()),
            "out_of_band_after": int((~new["in_band"]).sum()),
            "out_of_band_after_where_allowed": int((~new["in_band"] & new["band_allowed"]).sum()),
            "polsby_popper_before": round(float(old["polsby_popper"].mean()), 3),
            "polsby_popper_after": round(float(new["polsby_popper"].mean()), 3),
            "grid_workers_suggested": int(new["grid_workers"].sum()),
        }


def check_request(level: str, code: str, band: str, measure: str) -> RebalanceRequest:
    """Validate the scope, band and measure; InvalidParameterError naming the bad one."""
    if level not in LEVELS:
        raise InvalidParameterError("level", f"one of {', '.join(LEVELS)}, got '{level}'")
    check_code(level, code, level)
    if measure not in MEASURES:
        raise InvalidParameterError("by", f"one of {', '.join(MEASURES)}, got '{measure}'")
    try:
        parsed = Band.parse(band)
    except ValueError as error:
        raise InvalidParameterError("households", str(error)) from None
    return RebalanceRequest(level, code, parsed, measure)


def frame(session: Session, sql: str, params: dict) -> gpd.GeoDataFrame:
    """Run ``sql`` (WKB as ``wkb``) into a GeoDataFrame in EPSG:4326."""
    return postgis.shapes_of(session.execute(text(sql), params))


def read_points(session: Session, codes: list[str], crs: object) -> pd.DataFrame:
    """Resident points of the communities with their grid, and x/y in the metric ``crs``."""
    found = postgis.frame_of(session.execute(text(_POINTS), {"codes": codes}))
    if found.empty:
        return pd.DataFrame(columns=["persons", "grid_code", "x", "y"])
    projected = gpd.GeoSeries(gpd.points_from_xy(found["lon"], found["lat"]), crs=4326)
    projected = projected.to_crs(crs)
    return found.assign(x=projected.x.to_numpy(), y=projected.y.to_numpy())


def point_loads(points: pd.DataFrame, grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """Each point's residents, households and grid workers (shares of its grid's)."""
    index = pd.Index(grids["code"]).get_indexer(points["grid_code"])
    persons = points["persons"].to_numpy(dtype=float)
    result = points.assign(residents=points["persons"].astype(np.int64))
    for column in ("households", "grid_workers"):
        totals = grids[column].to_numpy(dtype=np.int64)
        result[column] = rebalance.shares(index, persons, totals) if len(index) else []
    return result


def affine_frame(communities: gpd.GeoDataFrame) -> str:
    """Return a metric frame for the scope that keeps straight edges straight.

    Grids must meet their community's edges, which are straight in lon/lat (as PostGIS and
    the import's tessellation check see them). UTM would bend them: a vertex cut on a
    community edge in UTM lands off that edge in lon/lat, tens of m² off over a few km.
    An equirectangular projection true at the scope's mean latitude is affine in lon/lat,
    so straight stays straight; over a district its scale errs by well under 1 %.
    """
    west, south, east, north = communities.total_bounds
    lat, lon = (south + north) / 2, (west + east) / 2
    return f"+proj=eqc +lat_ts={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m +no_defs"


def load_scope(session: Session, request: RebalanceRequest) -> tuple:
    """Communities and grids (WGS-84), resident points and the metric frame of the scope.

    Raises NotFoundError when the scope holds no current community.
    """
    sql = _COMMUNITIES.format(level=LEVELS[request.level])
    communities = frame(session, sql, {"code": request.code})
    if communities.empty:
        raise NotFoundError(f"no current {request.level} '{request.code}' with communities")
    crs = affine_frame(communities)
    codes = communities["code"].tolist()
    grids = frame(session, _GRIDS, {"codes": codes})
    points = point_loads(read_points(session, codes, crs), grids)
    return communities, grids, points, crs


def grid_name(community_name: str, number: int) -> str:
    """Name a grid after its community and number, as the demo city does (…第3网格)."""
    return f"{community_name}第{number}网格"


def community_proposal(community: pd.Series, points: pd.DataFrame, request: RebalanceRequest):
    """Propose one community's grids; returns rows of new grids and the points' grid codes."""
    mine = points["community_code"].to_numpy() == community["code"]
    xy = points.loc[mine, ["x", "y"]].to_numpy(dtype=float)
    load = points.loc[mine, request.measure].to_numpy(dtype=float)
    proposed = rebalance.propose_community(community.geometry, xy, load, request.band)
    codes = [f"{community['code']}{n:03d}" for n in range(1, len(proposed.geometries) + 1)]
    rows = pd.DataFrame(
        {
            "code": codes,
            "name": [grid_name(community["name"], n) for n in range(1, len(codes) + 1)],
            "community_code": community["code"],
            "community_name": community["name"],
        }
    )
    return rows, proposed.geometries, np.array(codes, dtype=object)[proposed.point_grid]


def counted(grids: gpd.GeoDataFrame, points: pd.DataFrame, column: str) -> gpd.GeoDataFrame:
    """Residents, households, grid workers and the load of each grid, summed from its points."""
    sums = points.groupby(column)[["residents", "households", "grid_workers"]].sum()
    sums = sums.reindex(grids["code"]).fillna(0).round().astype(np.int64)
    return grids.assign(
        residents=sums["residents"].to_numpy(),
        households_counted=sums["households"].to_numpy(),
        workers_counted=sums["grid_workers"].to_numpy(),
    )


def measured(grids: gpd.GeoDataFrame, request: RebalanceRequest, allowed: pd.Series, crs: str):
    """Add the load, whether it is in band (and whether the community allows it), compactness."""
    column = {"households": "households_counted", "residents": "residents"}.get(
        request.measure, "workers_counted"
    )
    load = grids[column].to_numpy(dtype=float)
    return grids.assign(
        load=load,
        in_band=[request.band.holds(value) for value in load],
        band_allowed=grids["community_code"].map(allowed).to_numpy(dtype=bool),
        polsby_popper=rebalance.polsby_popper(grids.to_crs(crs).geometry.to_numpy()).round(3),
    )


def change_table(points: pd.DataFrame, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame):
    """Which old grid's residents went to which new grid: one row per (old, new) pair."""
    moved = points.groupby(["grid_code", "new_code"], as_index=False)[
        ["households", "residents"]
    ].sum()
    moved = moved.rename(columns={"grid_code": "old_code"})
    moved["households"] = moved["households"].round().astype(np.int64)
    old_households = dict(zip(old["code"], old["households"], strict=True))
    new_households = dict(zip(new["code"], new["households"], strict=True))
    moved["old_households"] = moved["old_code"].map(old_households)
    moved["new_households"] = moved["new_code"].map(new_households)
    return moved.sort_values(["old_code", "new_code"], ignore_index=True)


def proposal_id(new: gpd.GeoDataFrame, request: RebalanceRequest, generation: int) -> str:
    """Digest the request, the generation it starts from and every new grid."""
    digest = hashlib.sha256(f"{request}|{generation}".encode())
    for code, geometry, households in zip(
        new["code"], new.geometry, new["households"], strict=True
    ):
        digest.update(f"{code}:{households}:".encode())
        # Rounded coordinates, not set_precision: no overlay that a sliver could upset.
        digest.update(np.round(shapely.get_coordinates(geometry), 7).tobytes())
    return digest.hexdigest()[:16]


def suggested_workers(households: np.ndarray, per_household: float) -> np.ndarray:
    """Grid workers a grid needs: its households times the setting, rounded up, at least one."""
    return np.maximum(1, np.ceil(np.asarray(households) * per_household - 1e-9)).astype(np.int64)


def cut_communities(
    communities: gpd.GeoDataFrame, points: pd.DataFrame, request: RebalanceRequest, crs: str
) -> gpd.GeoDataFrame:
    """Propose every community's grids (in the metric frame); return them in WGS-84.

    Sets each point's ``new_code``.
    """
    outlines = dict(zip(communities["code"], communities.geometry, strict=True))
    rows, geometries = [], []
    point_codes = pd.Series(index=points.index, dtype=object)
    for _, community in communities.to_crs(crs).iterrows():
        new_rows, shapes, codes = community_proposal(community, points, request)
        rows.append(new_rows)
        geometries.extend(shapes)
        point_codes[points["community_code"] == community["code"]] = codes
    points["new_code"] = point_codes
    new = gpd.GeoDataFrame(pd.concat(rows, ignore_index=True), geometry=geometries, crs=crs)
    return fitted(new.to_crs(4326), outlines)


def propose(session: Session, request: RebalanceRequest) -> Proposal:
    """Compute the rebalancing proposal of the request's scope (nothing is written)."""
    communities, old, points, crs = load_scope(session, request)
    community_of = dict(zip(old["code"], old["community_code"], strict=True))
    points["community_code"] = points["grid_code"].map(community_of)
    new = counted(cut_communities(communities, points, request, crs), points, "new_code")
    new["population"] = new["residents"]
    new["households"] = new["households_counted"]
    new["grid_workers"] = suggested_workers(new["households"], request.workers_per_household)
    old = counted(old, points, "grid_code")
    totals = points.groupby("community_code")[_LOAD_COLUMN[request.measure]].sum()
    allowed = totals.reindex(communities["code"]).fillna(0).map(request.band.allows)
    names = dict(zip(communities["code"], communities["name"], strict=True))
    old["community_name"] = old["community_code"].map(names)
    old = measured(old, request, allowed, crs)
    new = measured(new, request, allowed, crs)
    generation = int(old["generation"].max()) if len(old) else 0
    table = community_table(communities, old, new, allowed)
    changes = change_table(points, old, new)
    proposal = Proposal(request, table, old, new, changes, generation)
    proposal.id = proposal_id(new, request, generation)
    return proposal


_LOAD_COLUMN = {
    "households": "households",
    "residents": "residents",
    "grid_workers": "grid_workers",
}


def fitted(new: gpd.GeoDataFrame, outlines: dict) -> gpd.GeoDataFrame:
    """Put the new grids' (WGS-84) vertices on a community edge exactly on it."""
    geometries = new.geometry.to_numpy().copy()
    for code, members in new.groupby("community_code").indices.items():
        geometries[members] = rebalance.fit_to_outline(geometries[members], outlines[code], 1e-9)
    return new.set_geometry(gpd.GeoSeries(geometries, index=new.index, crs=4326))


def community_table(communities, old, new, allowed) -> pd.DataFrame:
    """One row per community: load, grids and grids out of band before and after."""
    result = pd.DataFrame(
        {"code": communities["code"], "name": communities["name"], "kind": communities["kind"]}
    )
    for label, grids in (("before", old), ("after", new)):
        by = grids.groupby("community_code")
        result[f"grids_{label}"] = result["code"].map(by.size()).fillna(0).astype(int)
        out = by["in_band"].apply(lambda values: int((~values).sum()))
        result[f"out_of_band_{label}"] = result["code"].map(out).fillna(0).astype(int)
    result["load"] = result["code"].map(new.groupby("community_code")["load"].sum())
    result["band_allowed"] = result["code"].map(allowed).fillna(False).astype(bool)
    return result


def grid_features(grids: gpd.GeoDataFrame) -> dict:
    """Return the grids as a GeoJSON FeatureCollection, coordinates as computed."""
    columns = [
        "code",
        "name",
        "community_code",
        "population",
        "households",
        "grid_workers",
        "load",
        "in_band",
        "band_allowed",
        "polsby_popper",
    ]
    features = [
        {
            "type": "Feature",
            "id": row["code"],
            "geometry": shapely.geometry.mapping(row.geometry),
            "properties": {c: _plain(row[c]) for c in columns},
        }
        for _, row in grids.iterrows()
    ]
    return {"type": "FeatureCollection", "features": features}


def _plain(value: object) -> object:
    """Return a numpy scalar as the Python value JSON writes."""
    return value.item() if hasattr(value, "item") else value


def proposal_body(proposal: Proposal) -> dict:
    """Return the proposal as the API does: id, request, figures, communities, grids, changes."""
    request = proposal.request
    communities = proposal.communities.astype(object).to_dict("records")
    return {
        "id": proposal.id,
        "level": request.level,
        "code": request.code,
        "households": str(request.band),
        "by": request.measure,
        "workers_per_household": request.workers_per_household,
        "generation": proposal.generation,
        "compactness": "Polsby–Popper 4πA/P² (1 = circle)",
        "summary": proposal.summary(),
        "communities": [{k: _plain(v) for k, v in row.items()} for row in communities],
        "grids": grid_features(proposal.new_grids),
        "changes": [
            {k: _plain(v) for k, v in row.items()}
            for row in proposal.changes.astype(object).to_dict("records")
        ],
    }
