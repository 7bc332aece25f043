"""``gridsvc issues``: supervision from the command line (escalate overdue cases)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from tqdm import tqdm

app = typer.Typer(help="Issues: deadlines, supervision and bulletins.", no_args_is_help=True)

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
    from gridsvc.db import session_scope
    from gridsvc.issues import actions, service

    try:
        with session_scope() as session:
            escalated = actions.escalate_overdue(session, progress=progress_bar)
            lines = [
                f"{issue.id}\t{issue.public_id}\t{issue.status}\t"
                f"{issue.grid_code or '-'}\tdue {service.local(issue.deadline_at):%Y-%m-%d %H:%M}"
                " (Asia/Shanghai)"
                for issue in escalated
            ]
    except ClusterError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} overdue case(s) escalated.", err=True)


def bulletin_command(
    period: Annotated[str, typer.Option(help="week, month or quarter.")] = "week",
    day: Annotated[
        str | None, typer.Option("--date", help="A day of the period, YYYY-MM-DD (local).")
    ] = None,
    district: Annotated[str | None, typer.Option(help="A district's code; default: city.")] = None,
    output: Annotated[Path, typer.Option(help="Folder for the HTML and CSV.")] = Path("."),
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print it to PDF (Chromium).")] = False,
) -> None:
    """Write the period's bulletin (定期通报) as HTML and CSV; default: the last full period."""
    from datetime import date, datetime

    from gridsvc.auth.roles import Role
    from gridsvc.auth.tokens import Principal
    from gridsvc.db import session_scope
    from gridsvc.issues.bulletins import document as bulletin
    from gridsvc.issues.bulletins import figures as bulletin_figures
    from gridsvc.issues.catalog.calendar import SHANGHAI

    if period not in bulletin.BULLETIN_PERIODS:
        raise typer.BadParameter(
            f"one of {', '.join(bulletin.BULLETIN_PERIODS)}", param_hint="--period"
        )
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise typer.BadParameter(f"a date YYYY-MM-DD, not '{day}'", param_hint="--date") from None
    when = when or bulletin.previous_day(period, datetime.now(SHANGHAI).date())
    centre = Principal(role=Role.ADMIN, subject="bulletin")
    with session_scope() as session:
        figures = bulletin_figures.bulletin_figures(session, centre, period, when, district)
    output.mkdir(parents=True, exist_ok=True)
    name = bulletin_figures.bulletin_name(figures)
    page, table = output / f"{name}.html", output / f"{name}.csv"
    html = bulletin.render_html(figures)
    page.write_text(html, encoding="utf-8")
    table.write_bytes(bulletin_figures.bulletin_csv(figures))
    written = [page, table]
    if pdf:
        from gridsvc.issues.bulletins.pdf import PdfUnavailableError, html_to_pdf

        try:
            document = html_to_pdf(html)
        except PdfUnavailableError as error:
            typer.secho(error.message, fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None
        written.append(output / f"{name}.pdf")
        written[-1].write_bytes(document)
    typer.echo(f"{figures['title']}: {' '.join(map(str, written))}")


@app.command("run")
def run(
    job: Annotated[str, typer.Argument(help="escalate or bulletins.")],
) -> None:
    """Run one of the scheduler's jobs now, once (for cron or a systemd timer)."""
    from gridsvc.cluster.home import ClusterError
    from gridsvc.db import session_factory
    from gridsvc.issues import scheduler

    if job not in scheduler.JOBS:
        raise typer.BadParameter(f"one of {', '.join(scheduler.JOBS)}", param_hint="JOB")
    try:
        result = scheduler.JOBS[job](session_factory())
    except ClusterError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    for line in result.get("escalated", result.get("issued", [])):
        typer.echo(line)
    typer.echo(f"{job}: {scheduler.summary(result)}.", err=True)


@app.command("schedule")
def schedule() -> None:
    """Show the scheduler's jobs, their crontab lines and next runs (Asia/Shanghai)."""
    from gridsvc.config import get_settings
    from gridsvc.issues import scheduler

    settings = get_settings()
    lines = {"escalate": settings.escalate_schedule, "bulletins": settings.bulletin_schedule}
    state = "on" if settings.scheduler else "off (GRIDSVC_SCHEDULER=false)"
    typer.echo(f"scheduler in the service: {state}")
    for name, moment in scheduler.next_runs(settings).items():
        typer.echo(f"{name}\t{lines[name]}\tnext {moment:%Y-%m-%d %H:%M %Z}")
