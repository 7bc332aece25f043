"""The staff's issue list as CSV (UTF-8 with BOM, for Excel on Chinese Windows) and GeoJSON.

An export carries what a list row carries but neither the reporter's contact nor the
reporter's own text: files travel beyond the service. Bounded by
``GRIDSVC_ISSUE_EXPORT_MAX_ROWS``: a larger match is a 422 asking for narrower filters.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.orm import Session

from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError
from gridsvc.config import get_settings
from gridsvc.issues import listing
from gridsvc.issues.models import Issue
from gridsvc.issues.schemas import IssueOut

COLUMNS = [
    "id",
    "public_id",
    "status",
    "priority",
    "category",
    "category_name",
    "grid_code",
    "grid_name",
    "community_code",
    "community_name",
    "street_code",
    "street_name",
    "district_code",
    "district_name",
    "department_code",
    "department_name",
    "departments",
    "overdue",
    "deadline",
    "escalated_at",
    "rating",
    "created_at",
    "closed_at",
    "lon",
    "lat",
]
LISTS = ("departments",)
WANTED = set(COLUMNS)


def export_rows(
    session: Session, principal: Principal, wanted: listing.IssueFilter
) -> list[dict[str, Any]]:
    """Every matching issue (at most the setting's count) as flat rows of ``COLUMNS``."""
    largest = get_settings().issue_export_max_rows
    matched, issues = listing.matching(session, principal, wanted, largest + 1, 0, events=False)
    if matched > largest:
        raise InvalidParameterError(
            "format",
            f"{matched} issues match, an export holds at most {largest} "
            "(GRIDSVC_ISSUE_EXPORT_MAX_ROWS): narrow the filters (from/to, district...)",
        )
    return flat_rows(session, principal, issues)


def flat_rows(session: Session, principal: Principal, issues: list[Issue]) -> list[dict[str, Any]]:
    """Rows of ``COLUMNS``, the names loaded once for all of them."""
    viewer = listing.viewer_of(session, principal, issues)
    return [
        IssueOut.model_validate(listing.SeenIssue(issue, viewer)).model_dump(include=WANTED)
        for issue in issues
    ]


def text_of(value: Any) -> str:
    """Write a cell: lists joined by ';', times as ISO 8601 in the city's zone, None as empty."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """Write the rows as CSV, UTF-8 with a byte-order mark."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([text_of(row[column]) for column in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def to_geojson(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the rows as a GeoJSON FeatureCollection of points (WGS-84, RFC 7946)."""
    features = []
    for row in rows:
        properties = {
            column: text_of(row[column]) if hasattr(row[column], "isoformat") else row[column]
            for column in COLUMNS
            if column not in ("lon", "lat")
        }
        features.append(
            {
                "type": "Feature",
                "id": row["public_id"],
                "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "numberMatched": len(rows), "features": features}
