"""Issued bulletins (定期通报): each period's bulletin kept as it went out, once per scope.

The scheduler calls :func:`issue_due` every day: for each bulletin period whose last
complete period has no bulletin yet, for the city and each district the settings name,
it renders the bulletin, stores it and notifies. Each bulletin is its own transaction,
under an advisory lock on its key, so workers running the same schedule issue it once and
a failure leaves the others issued. Stored bulletins are never rewritten: the figures a
centre published stay what they were, however the cases move on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import ForbiddenError, Principal
from gridsvc.common.errors import NotFoundError
from gridsvc.config import get_settings
from gridsvc.grids import service as grids_service
from gridsvc.issues import notify
from gridsvc.issues.bulletins import document as bulletin
from gridsvc.issues.bulletins import figures as bulletin_figures
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.models import IssuedBulletin
from gridsvc.issues.service import iso_local

logger = logging.getLogger(__name__)
CENTRE = Principal(role=Role.ADMIN, subject="scheduler")
CITY = ""  # the district_code of a city-wide bulletin


@dataclass(frozen=True)
class DueBulletin:
    """A bulletin to issue: its period, a day in it, and its scope (``CITY`` or a district)."""

    period: str
    day: date
    district: str

    @property
    def lock_key(self) -> str:
        """Return the text the advisory lock of this bulletin is taken on."""
        start = bulletin.period_range(self.period, self.day)[0]
        return f"gridsvc:bulletin:{self.period}:{start}:{self.district}"


def scopes(session: Session, setting: str) -> list[str]:
    """Return the scopes ``GRIDSVC_BULLETIN_DISTRICTS`` names: the city first, then districts."""
    if setting == "city":
        return [CITY]
    if setting == "all":
        return [CITY, *grids_service.district_codes(session)]
    return [CITY, *(code.strip() for code in setting.split(",") if code.strip())]


def due(session: Session, today: date) -> list[DueBulletin]:
    """Return the bulletins of the last complete periods before ``today`` not yet issued."""
    settings = get_settings()
    wanted = [
        DueBulletin(period, bulletin.previous_day(period, today), district)
        for period in settings.bulletin_period_list
        for district in scopes(session, settings.bulletin_districts)
    ]
    issued = {
        (row.period, row.start_date, row.district_code)
        for row in session.execute(
            select(IssuedBulletin.period, IssuedBulletin.start_date, IssuedBulletin.district_code)
        )
    }
    return [
        item
        for item in wanted
        if (item.period, bulletin.period_range(item.period, item.day)[0], item.district)
        not in issued
    ]


def issue_one(session: Session, item: DueBulletin, now: datetime) -> IssuedBulletin | None:
    """Render and store one bulletin unless another worker holds or has issued it."""
    taken = session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": item.lock_key},
    )
    if not taken:
        return None
    figures = bulletin_figures.bulletin_figures(
        session, CENTRE, item.period, item.day, item.district or None, now
    )
    row = session.scalar(
        insert(IssuedBulletin)
        .values(
            period=item.period,
            start_date=date.fromisoformat(figures["start"]),
            end_date=date.fromisoformat(figures["end"]),
            district_code=item.district,
            title=figures["title"],
            html=bulletin.render_html(figures),
            csv=bulletin_figures.bulletin_csv(figures),
        )
        .on_conflict_do_nothing()
        .returning(IssuedBulletin)
    )
    if row is not None:
        notify.queue_message(session, issued_message(row))
    return row


def issue_due(factory: sessionmaker[Session], now: datetime | None = None) -> list[dict[str, Any]]:
    """Issue every bulletin due at ``now``; return a summary of each one issued."""
    now = now or datetime.now(UTC)
    with factory() as session:
        pending = due(session, now.astimezone(SHANGHAI).date())
    issued = []
    for item in pending:
        with factory() as session, session.begin():
            row = issue_one(session, item, now)
            summary = issued_message(row) if row is not None else None
        if summary is not None:
            issued.append(summary)
            logger.info("issued bulletin %s", summary["title"])
    return issued


def issued_message(row: IssuedBulletin) -> dict[str, Any]:
    """Return what a notification and the archive list say of an issued bulletin."""
    return {
        "event": "bulletin",
        "id": row.id,
        "period": row.period,
        "from": row.start_date.isoformat(),
        "to": row.end_date.isoformat(),
        "district_code": row.district_code or None,
        "title": row.title,
        "issued_at": iso_local(row.issued_at),
        "links": {kind: f"/api/v1/bulletins/issued/{row.id}?format={kind}" for kind in FORMATS},
    }


FORMATS = ("html", "csv", "pdf")


def visible(principal: Principal) -> Any:
    """Return the condition on bulletins a supervisor may read: a district's own scope only."""
    if principal.district:
        return IssuedBulletin.district_code == principal.district
    return True


def list_issued(
    session: Session, principal: Principal, period: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """Return how many bulletins are visible and a page of them, the newest first."""
    condition = visible(principal)
    if period:
        condition = (IssuedBulletin.period == period) & condition
    total = session.scalar(select(func.count()).select_from(IssuedBulletin).where(condition))
    rows = session.scalars(
        select(IssuedBulletin)
        .where(condition)
        .order_by(
            IssuedBulletin.start_date.desc(),
            IssuedBulletin.period,
            IssuedBulletin.district_code,
            IssuedBulletin.id,
        )
        .limit(limit)
        .offset(offset)
    )
    return total or 0, [issued_message(row) for row in rows]


def get_issued(session: Session, principal: Principal, bulletin_id: int) -> IssuedBulletin:
    """Return one issued bulletin; 404 when there is none, 403 outside the caller's scope."""
    row = session.get(IssuedBulletin, bulletin_id)
    if row is None:
        raise NotFoundError(f"no issued bulletin has the id {bulletin_id}")
    if principal.district and row.district_code != principal.district:
        raise ForbiddenError(
            f"this token covers district {principal.district}; bulletin {bulletin_id} is "
            f"{'the city' if not row.district_code else 'district ' + row.district_code}'s"
        )
    return row
