"""Apply a reviewed rebalancing proposal: the next generation of grids, through the importer.

The proposal is computed again and must have the id the planner reviewed (else the data
changed since, and nothing is written). The grids layer is then written whole to a
GeoPackage (today's grids outside the scope unchanged, the proposal's inside it) and
imported with ``--replace`` by :func:`gridsvc.geodata.importer.import_file`: the same
checks as any city file, the old generation closed and kept as history, communities'
links kept. Open issues of the scope then move to the new grid holding their point.
The caller owns the transaction (and refreshes coverage).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common.errors import ConflictError
from gridsvc.geodata.importer import ImportRequest, import_file
from gridsvc.geodata.problems import Problem
from gridsvc.issues import relinking
from gridsvc.rebalancing.service import Proposal, RebalanceRequest, frame, propose

LAYER_COLUMNS = ["code", "name", "community_code", "population", "households", "grid_workers"]

_KEPT_GRIDS = (
    "SELECT g.code, g.name, c.code AS community_code, g.population, g.households, "
    "g.grid_workers, ST_AsBinary(g.geom) AS wkb FROM grids g "
    "JOIN communities c ON c.id = g.community_id "
    "WHERE g.valid_to IS NULL AND NOT (c.code = ANY(:codes)) ORDER BY g.code"
)


class ProposalChangedError(ConflictError):
    """The proposal computed now is not the one reviewed: the data changed."""


class ProposalRefusedError(ConflictError):
    """The import's checks refused the proposal's grids; nothing was written."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass
class Applied:
    """What applying did: the generation opened, grids written, issues moved."""

    proposal: Proposal
    generation: int
    grids: int
    issues_moved: int
    districts: list[str]


def next_layer(session: Session, proposal: Proposal) -> gpd.GeoDataFrame:
    """Build the whole grids layer of the next generation: kept grids and the proposal's."""
    codes = proposal.communities["code"].tolist()
    kept = frame(session, _KEPT_GRIDS, {"codes": codes})
    new = proposal.new_grids[[*LAYER_COLUMNS, "geometry"]]
    parts = [part for part in (kept, new) if len(part)]
    layer = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")
    for column in ("population", "households", "grid_workers"):
        layer[column] = layer[column].astype("int64")
    return layer


def import_layer(session: Session, layer: gpd.GeoDataFrame) -> int:
    """Import the layer with ``--replace``; returns the generation, or raises with problems."""
    with tempfile.TemporaryDirectory(prefix="gridsvc-rebalance-") as folder:
        path = Path(folder) / "grids.gpkg"
        layer.to_file(path, layer="grids", driver="GPKG")
        result = import_file(session, ImportRequest("grids", path, replace=True))
    if not result.loaded:
        shown = "; ".join(p.message for p in result.errors[:5])
        raise ProposalRefusedError(
            f"the import refused the proposal's grids ({len(result.errors)} problems: "
            f"{shown}); nothing was written",
            result.errors,
        )
    assert result.generation is not None
    return result.generation


def apply_proposal(session: Session, request: RebalanceRequest, proposal_id: str) -> Applied:
    """Make the reviewed proposal ``proposal_id`` the next generation of grids."""
    session.execute(text("LOCK TABLE grids IN SHARE ROW EXCLUSIVE MODE"))
    proposal = propose(session, request)
    if proposal.id != proposal_id:
        raise ProposalChangedError(
            f"the proposal for {request.level} {request.code} is now {proposal.id}, not "
            f"{proposal_id}: the grids or residents changed since it was reviewed; review "
            "the new proposal"
        )
    layer = next_layer(session, proposal)
    generation = import_layer(session, layer)
    codes = proposal.communities["code"].tolist()
    note = f"grids rebalanced: generation {generation} (proposal {proposal.id})"
    moved = relinking.relink_open_issues(session, codes, note)
    districts = sorted({code[:6] for code in codes})
    return Applied(proposal, generation, len(proposal.new_grids), moved, districts)
