"""``gridsvc token``: print a bearer token for administrators and tests."""

from __future__ import annotations

from datetime import timedelta

import typer

from gridsvc.auth.tokens import Principal, issue_token, signing_secret
from gridsvc.config import get_settings
from gridsvc.issues.workflow import Role

ROLES = [role.value for role in Role if role is not Role.SYSTEM]


def token(
    role: str = typer.Option(..., help=f"One of: {', '.join(ROLES)}."),
    grid: list[str] = typer.Option(  # typer's repeated option
        [], help="A grid worker's grid code (15 digits); repeat for several grids."
    ),
    department: str | None = typer.Option(None, help="Department staff's department code."),
    district: str | None = typer.Option(
        None, help="A supervisor's district code (6 digits); none: the whole city."
    ),
    subject: str | None = typer.Option(None, help="Who the token is for (default: the role)."),
    hours: float | None = typer.Option(
        None, min=0.01, help="Validity in hours (default: GRIDSVC_TOKEN_TTL_HOURS)."
    ),
) -> None:
    """Print a signed bearer token for ROLE with its scope."""
    settings = get_settings()
    if role not in ROLES:
        typer.secho(f"unknown role '{role}'; one of: {', '.join(ROLES)}", fg="red", err=True)
        raise typer.Exit(1)
    try:
        principal = Principal(
            role=Role(role),
            subject=subject or role,
            grids=tuple(grid),
            department=department,
            district=district,
        )
        ttl = timedelta(hours=hours or settings.token_ttl_hours)
        token_text = issue_token(principal, signing_secret(settings), ttl)
        check_scope_exists(principal)
        typer.echo(token_text)
    except ValueError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(1) from None


def check_scope_exists(principal: Principal) -> None:
    """Raise ValueError if the token's department, grids or district do not exist (now)."""
    if not (principal.grids or principal.department or principal.district):
        return
    from gridsvc.common.errors import NotFoundError
    from gridsvc.db import session_factory
    from gridsvc.grids import placing as grid_placing
    from gridsvc.grids import service as grids_service
    from gridsvc.issues import service as issues_service

    with session_factory()() as session:
        problems = []
        if principal.department and issues_service.unknown_departments(
            session, [principal.department]
        ):
            problems.append(f"no department '{principal.department}'")
        missing = [g for g in principal.grids if grid_placing.placement_of_grid(session, g) is None]
        problems += [f"no current grid '{code}'" for code in missing]
        if principal.district:
            try:
                grids_service.get_district_name(session, principal.district)
            except NotFoundError:
                problems.append(f"no current district '{principal.district}'")
    if problems:
        raise ValueError("; ".join(problems))
