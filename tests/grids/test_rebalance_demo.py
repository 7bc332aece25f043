"""东胜区 of the demo city: a planner's proposal, checked against the points, then applied."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import text

from gridsvc.rebalancing import apply as rebalance_apply
from gridsvc.rebalancing import service as rebalance_service
from tests.grids.conftest import resident_points

DONGSHENG = "150602"


def test_dongsheng_proposal_holds_the_band_and_applies_as_a_generation(
    db_session, loaded_demo_city
) -> None:
    request = rebalance_service.check_request("district", DONGSHENG, "300-500", "households")
    proposal = rebalance_service.propose(db_session, request)
    new, old = proposal.new_grids, proposal.old_grids
    assert set(old["code"]) == set(
        loaded_demo_city.grids.loc[loaded_demo_city.grids["code"].str[:6] == DONGSHENG, "code"]
    )
    # Households of each new grid from the points: each old grid's count by persons.
    points = resident_points(db_session)
    joined = gpd.sjoin(points, old[["households", "geometry"]], predicate="intersects")
    joined = joined[~joined.index.duplicated()]
    persons_of_grid = joined.groupby("index_right")["persons"].sum()
    joined["share"] = (
        joined["persons"] / joined["index_right"].map(persons_of_grid) * joined["households"]
    )
    located = gpd.sjoin(joined.drop(columns="index_right"), new[["code", "geometry"]])
    located = located[~located.index.duplicated()]
    expected = located.groupby("code")["share"].sum().reindex(new["code"]).fillna(0)
    # Each point's share of its old grid, summed, rounded to whole households.
    assert (np.abs(new["households"].to_numpy() - expected.to_numpy()) <= 0.5 + 1e-6).all()
    allowed = new["band_allowed"].to_numpy()
    independent = expected.to_numpy()[allowed]
    assert ((independent >= 299.5) & (independent <= 500.5)).all()
    assert new.loc[allowed, "households"].between(300, 500).all()
    assert (shapely.get_type_id(new.geometry.to_numpy()) == 3).all()  # one polygon each
    summary = proposal.summary()
    assert summary["out_of_band_after"] < summary["out_of_band_before"]

    applied = rebalance_apply.apply_proposal(db_session, request, proposal.id)
    rows = db_session.execute(
        text(
            "SELECT generation, valid_to IS NULL, count(*) FROM grids "
            "WHERE code LIKE :district GROUP BY 1, 2 ORDER BY 1"
        ),
        {"district": f"{DONGSHENG}%"},
    ).all()
    assert [tuple(r) for r in rows] == [(1, False, len(old)), (applied.generation, True, len(new))]
    point = new.geometry.iloc[len(new) // 2].representative_point()
    found = db_session.scalar(
        text(
            "SELECT code FROM grids WHERE valid_to IS NULL "
            "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) ORDER BY code"
        ),
        {"lon": point.x, "lat": point.y},
    )
    assert found == new["code"].iloc[len(new) // 2]
