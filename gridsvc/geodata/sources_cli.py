"""``gridsvc facilities ...``: the sources facilities were imported from, and withdrawing one.

A source is where an import came from; withdrawing one deletes its facilities and then
refreshes stored coverage, which is why these commands live with the imports.
"""

from __future__ import annotations

import typer

from gridsvc.common.cli import fail

app = typer.Typer(
    help="Facility sources: list them, withdraw one (its facilities are deleted).",
    no_args_is_help=True,
)


@app.command("sources")
def sources() -> None:
    """List every facility source with its number of facilities."""
    from gridsvc.db import session_scope
    from gridsvc.facilities import service

    with session_scope() as session:
        found = service.facility_sources(session)
    if not found:
        typer.echo("No facilities are loaded.")
    for source, count in found.items():
        typer.echo(f"{source:<24} {count:>8,}")


@app.command("withdraw")
def withdraw(
    source: str = typer.Argument(
        ..., help="The source to withdraw, as 'gridsvc facilities sources' lists it."
    ),
    no_refresh: bool = typer.Option(
        False,
        "--no-refresh",
        help="Do not refresh stored coverage afterwards (readers compute it live until "
        "'gridsvc coverage refresh').",
    ),
) -> None:
    """Delete every facility of SOURCE, then refresh stored coverage where it counted them.

    Facilities keep no history: withdrawn ones are gone (import the file again to bring
    them back). Stored coverage that counted them is stale from the commit on.
    """
    from gridsvc.db import session_scope
    from gridsvc.facilities import service
    from gridsvc.geodata.cli import refresh_coverage

    with session_scope() as session:
        withdrawn = service.withdraw_source(session, source)
        if not withdrawn:
            known = service.facility_sources(session)
            listed = ", ".join(f"{name} ({count})" for name, count in known.items()) or "none"
            raise fail(f"No facility has source '{source}'; the sources: {listed}.")
    typer.echo(f"Withdrew {withdrawn:,} facilities of source '{source}'.")
    if not no_refresh:
        refresh_coverage()
