"""Handling as centres require it: priority (紧急/一般) with urgent deadlines, staff photos
before and after handling, an after-photo rule per category, and retired categories.

Old cases and deadlines become 一般 (normal); photos already stored are the reporters'.

Revision ID: 0009_handling
Revises: 0008_issues_created_at
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TIMESTAMP

from alembic import op

revision = "0009_handling"
down_revision = "0008_issues_created_at"
branch_labels = None
depends_on = None

PRIORITIES = "priority IN ('normal', 'urgent')"


def seed_urgent_deadlines() -> None:
    """The shipped urgent deadlines, for the shipped categories that exist."""
    from gridsvc.issues.catalog.deadlines import default_urgent_deadlines

    existing = set(op.get_bind().execute(sa.text("SELECT code FROM issue_categories")).scalars())
    table = sa.table(
        "category_deadlines",
        *(sa.column(c) for c in ("category_code", "priority", "stage", "amount", "unit")),
    )
    rows = [
        {"category_code": code, "priority": "urgent", "stage": stage.value,
         "amount": rule.amount, "unit": rule.unit}
        for code, rules in default_urgent_deadlines().items() if code in existing
        for stage, rule in rules.items()
    ]  # fmt: skip
    if rows:
        op.bulk_insert(table, rows)


def upgrade() -> None:
    op.add_column(
        "issues", sa.Column("priority", sa.String(6), nullable=False, server_default="normal")
    )
    op.create_check_constraint("issues_priority", "issues", PRIORITIES)
    op.add_column(
        "category_deadlines",
        sa.Column("priority", sa.String(6), nullable=False, server_default="normal"),
    )
    op.create_check_constraint("category_deadlines_priority", "category_deadlines", PRIORITIES)
    op.drop_constraint("category_deadlines_pkey", "category_deadlines", type_="primary")
    op.create_primary_key(
        "category_deadlines_pkey", "category_deadlines", ["category_code", "priority", "stage"]
    )
    op.add_column(
        "issue_categories",
        sa.Column(
            "after_photo_required", sa.Boolean, nullable=False, server_default=sa.text("false")
        ),
    )
    op.add_column("issue_categories", sa.Column("retired_at", TIMESTAMP(timezone=True)))
    op.add_column(
        "issue_photos", sa.Column("stage", sa.String(6), nullable=False, server_default="report")
    )
    op.create_check_constraint(
        "issue_photos_stage", "issue_photos", "stage IN ('report', 'before', 'after')"
    )
    op.add_column("issue_photos", sa.Column("uploaded_by", sa.Text))
    op.add_column("issue_photos", sa.Column("uploaded_role", sa.String(12)))
    seed_urgent_deadlines()


def refuse_to_lose_handling() -> None:
    """Refuse (unless forced) when urgent cases, staff photos or retired categories exist."""
    from gridsvc.cluster.downgrades import DowngradeRefused, forced

    if forced():
        return
    connection = op.get_bind()
    counts = {
        "urgent issues": "SELECT count(*) FROM issues WHERE priority = 'urgent'",
        "staff photos": "SELECT count(*) FROM issue_photos WHERE stage <> 'report'",
        "retired categories": "SELECT count(*) FROM issue_categories WHERE retired_at IS NOT NULL",
    }
    held = {what: connection.execute(sa.text(sql)).scalar_one() for what, sql in counts.items()}
    held = {what: count for what, count in held.items() if count}
    if held:
        listed = ", ".join(f"{count} {what}" for what, count in held.items())
        raise DowngradeRefused(
            f"Downgrading below {revision} would forget {listed}. Nothing was changed; "
            "`gridsvc db downgrade REVISION --force` lets them go."
        )


def downgrade() -> None:
    refuse_to_lose_handling()
    for column in ("uploaded_role", "uploaded_by", "stage"):
        op.drop_column("issue_photos", column)
    op.drop_column("issue_categories", "retired_at")
    op.drop_column("issue_categories", "after_photo_required")
    op.execute("DELETE FROM category_deadlines WHERE priority <> 'normal'")
    op.drop_constraint("category_deadlines_pkey", "category_deadlines", type_="primary")
    op.create_primary_key(
        "category_deadlines_pkey", "category_deadlines", ["category_code", "stage"]
    )
    op.drop_column("category_deadlines", "priority")
    op.drop_column("issues", "priority")
