"""``gridsvc grids ...``: rebalance the grids of a district, street or community."""

from __future__ import annotations

from pathlib import Path

import typer

from gridsvc.common.cli import fail
from gridsvc.common.errors import GridsvcError

app = typer.Typer(
    help="Grids: rebalancing proposals, reviewed on a map, applied.", no_args_is_help=True
)

#: The change table printed lists this many rows; --changes FILE writes them all.
SHOWN_CHANGES = 40


def scope_of(district: str | None, street: str | None, community: str | None) -> tuple[str, str]:
    """Return the one scope given, as (level, code)."""
    given = {"district": district, "street": street, "community": community}
    chosen = [(level, code) for level, code in given.items() if code]
    if len(chosen) != 1:
        raise fail("Give exactly one of --district, --street or --community.")
    return chosen[0]


def print_proposal(proposal) -> None:  # rebalance_service.Proposal
    """Print the figures, the communities with their grids out of band, the first changes."""
    summary = proposal.summary()
    request = proposal.request
    typer.echo(
        f"Proposal {proposal.id} for {request.level} {request.code} "
        f"(band {request.band} {request.measure}, from generation {proposal.generation}):"
    )
    for key, value in summary.items():
        typer.echo(f"  {key.replace('_', ' ')}: {value}")
    columns = ["code", "name", "kind", "load", "grids_before", "grids_after", "out_of_band_before"]
    columns += ["out_of_band_after", "band_allowed"]
    typer.echo(proposal.communities[columns].to_string(index=False, max_rows=60))
    typer.echo(f"Changes (old grid → new grid, households moved), first {SHOWN_CHANGES}:")
    typer.echo(proposal.changes.head(SHOWN_CHANGES).to_string(index=False))


@app.command("rebalance")
def rebalance(
    district: str = typer.Option(None, help="Rebalance this district (6-digit code)."),
    street: str = typer.Option(None, help="Rebalance this street (9-digit code)."),
    community: str = typer.Option(None, help="Rebalance this community (12-digit code)."),
    households: str = typer.Option(
        None, help="Band LOW-HIGH of load per grid [default: GRIDSVC_REBALANCE_BAND, 300-500]."
    ),
    by: str = typer.Option(
        "households", help="Load the band counts: households, residents or grid_workers."
    ),
    map_file: Path = typer.Option(None, "--map", help="Write the review map here (HTML)."),
    changes: Path = typer.Option(None, help="Write the whole change table here (CSV)."),
    apply: str = typer.Option(
        None,
        help="Apply the proposal with this id (as printed after review) as the next generation.",
    ),
    refresh: bool = typer.Option(True, help="Refresh stored coverage after applying."),
) -> None:
    """Propose grids each holding a load in the band; review on a map; apply with --apply ID."""
    from gridsvc.config import get_settings
    from gridsvc.geodata.cli import refresh_coverage
    from gridsvc.rebalancing import service as rebalance_service

    level, code = scope_of(district, street, community)
    try:
        request = rebalance_service.check_request(
            level, code, households or get_settings().rebalance_band, by
        )
    except GridsvcError as error:
        raise fail(error.message) from None
    if apply:
        applied = in_session(request, apply)
        typer.echo(
            f"Applied proposal {applied.proposal.id}: generation {applied.generation}, "
            f"{applied.grids} grids in the scope, {applied.issues_moved} open issues moved; "
            "the previous generation is kept as history."
        )
        if refresh:
            refresh_coverage()
        return
    proposal = in_session(request)
    print_proposal(proposal)
    write_outputs(proposal, map_file, changes)
    typer.echo(
        f"Review, then apply with: gridsvc grids rebalance --{level} {code} "
        f"--households {request.band} --by {by} --apply {proposal.id}"
    )


def in_session(request, apply: str | None = None):
    """Propose (rolled back: nothing is written) or apply (committed) in one transaction."""
    from gridsvc.geodata.cli import migrated_session
    from gridsvc.rebalancing import apply as rebalance_apply
    from gridsvc.rebalancing import service as rebalance_service

    try:
        with migrated_session() as session:
            if apply is None:
                result = rebalance_service.propose(session, request)
                session.rollback()
            else:
                result = rebalance_apply.apply_proposal(session, request, apply)
    except GridsvcError as error:
        raise fail(error.message) from None
    return result


def write_outputs(proposal, map_file: Path | None, changes: Path | None) -> None:
    """Write the review map (with its assets) and the change table, when asked."""
    from gridsvc.config import get_settings
    from gridsvc.maps import rebalance as rebalance_map
    from gridsvc.maps import service as maps_service
    from gridsvc.maps.cli import write_map

    if changes is not None:
        changes.parent.mkdir(parents=True, exist_ok=True)
        proposal.changes.to_csv(changes, index=False)
        typer.echo(f"wrote {changes} ({len(proposal.changes)} rows)")
    if map_file is not None:
        settings = get_settings()
        options = maps_service.render_options(settings, static_url="static", ogc_url=None)
        request = proposal.request
        title = (
            f"{request.level} {request.code} · 网格调整建议 rebalancing proposal ({request.band})"
        )
        page = rebalance_map.rebalance_map_page(proposal, title, options)
        map_file.parent.mkdir(parents=True, exist_ok=True)
        write_map(map_file.parent, map_file.name, page, settings.assets_dir)
