"""Routes of grid rebalancing: the proposal (JSON and review map) and applying it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gridsvc.auth.dependencies import AdminDep
from gridsvc.common.errors import InvalidParameterError
from gridsvc.common.heavy import heavy
from gridsvc.config import get_settings
from gridsvc.coverage import service as coverage_service
from gridsvc.db import SessionDep
from gridsvc.grids.schemas import RebalanceApply
from gridsvc.maps import rebalance as rebalance_map
from gridsvc.maps import service as maps_service
from gridsvc.maps.views import map_page
from gridsvc.rebalancing import apply as rebalance_apply
from gridsvc.rebalancing import service as rebalance_service
from gridsvc.rebalancing.service import RebalanceRequest

router = APIRouter(tags=["grids"])
NOT_FOUND = {404: {"description": "No current district, street or community with this code."}}

Measure = Literal["households", "residents", "grid_workers"]
SCOPE = "Exactly one of district, street or community."
DistrictQuery = Annotated[str | None, Query(description=f"6-digit district code. {SCOPE}")]
StreetQuery = Annotated[str | None, Query(description="9-digit street code.")]
CommunityQuery = Annotated[str | None, Query(description="12-digit community code.")]
BandQuery = Annotated[
    str | None,
    Query(
        description="Band LOW-HIGH of load per grid, in the measure of `by` "
        "[default: GRIDSVC_REBALANCE_BAND].",
        examples=["300-500"],
    ),
]
ByQuery = Annotated[Measure, Query(description="What load the band counts.")]


def scope_request(
    scopes: dict[str, str | None], band: str | None, by: str, location: str = "query"
) -> RebalanceRequest:
    """One scope, the band and the measure, checked; 422 naming what is wrong."""
    given = {level: code for level, code in scopes.items() if code is not None}
    if len(given) != 1:
        raise InvalidParameterError(
            "district", f"{SCOPE} Got: {', '.join(given) or 'none'}.", location
        )
    ((level, code),) = given.items()
    band = band if band is not None else get_settings().rebalance_band
    return rebalance_service.check_request(level, code, band, by)


@router.get("/api/v1/grids/rebalance", responses=NOT_FOUND)
@heavy
def propose(
    session: SessionDep,
    district: DistrictQuery = None,
    street: StreetQuery = None,
    community: CommunityQuery = None,
    households: BandQuery = None,
    by: ByQuery = "households",
) -> dict[str, Any]:
    """Propose grids each holding a load in the band: new grids, changes, counts; nothing stored."""
    scopes = {"district": district, "street": street, "community": community}
    request = scope_request(scopes, households, by)
    return rebalance_service.proposal_body(rebalance_service.propose(session, request))


@router.post("/api/v1/grids/rebalance/apply", responses=NOT_FOUND)
@heavy
def apply(session: SessionDep, principal: AdminDep, body: RebalanceApply) -> dict[str, Any]:
    """Make a reviewed proposal the next generation of grids (old ones kept as history)."""
    scopes = {"district": body.district, "street": body.street, "community": body.community}
    request = scope_request(scopes, body.households, body.by, "body")
    applied = rebalance_apply.apply_proposal(session, request, body.proposal_id)
    refreshed = coverage_service.refresh_after_change(session, applied.districts)
    return {
        "proposal_id": applied.proposal.id,
        "generation": applied.generation,
        "grids": applied.grids,
        "issues_moved": applied.issues_moved,
        "coverage_refreshed": refreshed["districts"],
        "summary": applied.proposal.summary(),
    }


@router.get("/maps/rebalance", response_class=HTMLResponse, tags=["maps"], responses=NOT_FOUND)
@heavy
def review_map(
    request: Request,
    session: SessionDep,
    district: DistrictQuery = None,
    street: StreetQuery = None,
    community: CommunityQuery = None,
    households: BandQuery = None,
    by: ByQuery = "households",
) -> HTMLResponse:
    """Show the proposal on a map beside today's grids, the band as legend, the change table."""
    scopes = {"district": district, "street": street, "community": community}
    asked = scope_request(scopes, households, by)
    proposal = rebalance_service.propose(session, asked)
    title = f"{asked.level} {asked.code} · 网格调整建议 rebalancing proposal ({asked.band})"
    options = maps_service.render_options(get_settings())
    return map_page(request, rebalance_map.rebalance_map_page(proposal, title, options))
