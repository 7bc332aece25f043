"""``gridsvc issues``: supervision from the command line (escalate overdue cases)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

import typer
from tqdm import tqdm

app = typer.Typer(help="Issues: deadlines and supervision.", no_args_is_help=True)

# Below this many cases the work takes a blink, and a bar would only clutter the output.
PROGRESS_FROM = 200
Item = TypeVar("Item")


def progress_bar(items: list[Item]) -> Iterable[Item]:
    """Wrap ``items`` in a progress bar on stderr when there are many of them."""
    return tqdm(
        items, desc="escalating", unit="case", file=sys.stderr, disable=len(items) < PROGRESS_FROM
    )


@app.command("escalate")
def escalate() -> None:
    """Put every open case past its stage deadline under supervision (督办) and list them."""
    from gridsvc.cluster.home import ClusterError
    from gridsvc.db import session_factory
    from gridsvc.issues import handling

    try:
        with session_factory()() as session, session.begin():
            escalated = handling.escalate_overdue(session, progress=progress_bar)
            lines = [
                f"{issue.id}\t{issue.public_id}\t{issue.status}\t"
                f"{issue.grid_code or '-'}\tdue {issue.deadline_at:%Y-%m-%d %H:%M %Z}"
                for issue in escalated
            ]
    except ClusterError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} overdue case(s) escalated.", err=True)
