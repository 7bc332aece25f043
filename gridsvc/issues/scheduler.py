"""The scheduler inside the service: escalation (督办) and bulletins (定期通报) on time.

APScheduler runs the jobs in a background thread of each server process, on crontab lines
read in the city's time zone (``GRIDSVC_ESCALATE_SCHEDULE``, ``GRIDSVC_BULLETIN_SCHEDULE``).
Every worker schedules them; a job runs under a PostgreSQL advisory lock, so one worker
does the work and the others see the lock taken and skip. Both jobs are idempotent
(a case is escalated once; a bulletin is issued once per period and scope), so a run that
is missed while the service is down is made good by the next one, and the bulletins also
run once shortly after start-up. ``GRIDSVC_SCHEDULER=false`` turns it off (for a deployment
that runs ``gridsvc issues run JOB`` from cron or a systemd timer instead).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.config import Settings, crontab_trigger, get_settings
from gridsvc.issues import actions
from gridsvc.issues.bulletins import archive as bulletin_archive
from gridsvc.issues.catalog.calendar import SHANGHAI

logger = logging.getLogger(__name__)
JOB_NAMES = ("escalate", "bulletins")
#: After start-up, the bulletins job waits this long (the server is serving first).
START_DELAY = timedelta(seconds=30)


def escalate(factory: sessionmaker[Session], now: datetime | None = None) -> dict[str, Any]:
    """Escalate every overdue case, unless another worker is escalating right now."""
    with factory() as session, session.begin():
        taken = session.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended('gridsvc:escalate', 0))")
        )
        if not taken:
            return {"job": "escalate", "ran": False, "escalated": []}
        escalated = actions.escalate_overdue(session, now)
        codes = [issue.public_id for issue in escalated]
    return {"job": "escalate", "ran": True, "escalated": codes}


def bulletins(factory: sessionmaker[Session], now: datetime | None = None) -> dict[str, Any]:
    """Issue every due bulletin not yet issued (each under its own lock)."""
    issued = bulletin_archive.issue_due(factory, now)
    return {"job": "bulletins", "ran": True, "issued": [row["title"] for row in issued]}


JOBS: dict[str, Callable[..., dict[str, Any]]] = {"escalate": escalate, "bulletins": bulletins}


def run_job(name: str, factory: sessionmaker[Session]) -> dict[str, Any] | None:
    """Run one job for the scheduler: log what it did, and log rather than raise a failure."""
    try:
        result = JOBS[name](factory)
    except Exception:  # a failed run must not stop the scheduler; the next run retries
        logger.exception("scheduled job %s failed", name)
        return None
    logger.info("scheduled job %s: %s", name, summary(result))
    return result


def summary(result: dict[str, Any]) -> str:
    """Return a job's result in a few words for the log (public ids and titles only)."""
    if not result["ran"]:
        return "another worker holds the lock; skipped"
    if result["job"] == "escalate":
        return f"{len(result['escalated'])} case(s) escalated"
    return f"{len(result['issued'])} bulletin(s) issued"


def triggers(settings: Settings) -> dict[str, CronTrigger]:
    """Return each job's trigger from the settings, in the city's time zone."""
    return {
        "escalate": crontab_trigger(settings.escalate_schedule, SHANGHAI),
        "bulletins": crontab_trigger(settings.bulletin_schedule, SHANGHAI),
    }


def build(factory: sessionmaker[Session], settings: Settings | None = None) -> BackgroundScheduler:
    """Return a scheduler (not started) with both jobs; the bulletins also soon after start."""
    settings = settings or get_settings()
    scheduler = BackgroundScheduler(timezone=SHANGHAI)
    for name, trigger in triggers(settings).items():
        # One run of a job at a time in this process; a run missed by a busy process is
        # made good by the next (the jobs are idempotent), never run twice in a row.
        scheduler.add_job(
            run_job,
            trigger,
            args=(name, factory),
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    scheduler.add_job(
        run_job,
        "date",
        run_date=datetime.now(UTC) + START_DELAY,
        args=("bulletins", factory),
        id="bulletins-at-start",
        name="bulletins at start-up",
    )
    return scheduler


def next_runs(settings: Settings, now: datetime | None = None) -> dict[str, datetime]:
    """Return when each job runs next after ``now``, in the city's time zone."""
    now = (now or datetime.now(UTC)).astimezone(SHANGHAI)
    return {
        name: trigger.get_next_fire_time(None, now) for name, trigger in triggers(settings).items()
    }
