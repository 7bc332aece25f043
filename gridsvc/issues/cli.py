"""``gridsvc issues``: supervision from the command line (escalate overdue cases)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Issues: deadlines and supervision.", no_args_is_help=True)


@app.command("escalate")
def escalate() -> None:
    """Put every open case past its stage deadline under supervision (督办) and list them."""
    from gridsvc.cluster.home import ClusterError
    from gridsvc.db import session_factory
    from gridsvc.issues import handling

    try:
        with session_factory()() as session, session.begin():
            escalated = handling.escalate_overdue(session)
            lines = [
                f"{issue.id}\t{issue.tracking_code}\t{issue.status}\t"
                f"{issue.grid_code or '-'}\tdue {issue.deadline_at:%Y-%m-%d %H:%M %Z}"
                for issue in escalated
            ]
    except ClusterError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} overdue case(s) escalated.", err=True)
