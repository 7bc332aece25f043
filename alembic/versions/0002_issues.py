"""Issues: reports, routing, workflow events, deadlines, departments, users.

Revision ID: 0002_issues
Revises: 0001_foundation
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP

from alembic import op

revision = "0002_issues"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

CODE_FORMAT = "^[a-z][a-z0-9_]*$"


def now() -> sa.TextClause:
    return sa.text("now()")


def created_at() -> sa.Column:
    return sa.Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=now())


def reference_tables() -> None:
    op.create_table(
        "departments",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.CheckConstraint(f"code ~ '{CODE_FORMAT}'", name="departments_code_format"),
    )
    op.create_table(
        "issue_categories",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column(
            "department_code", sa.String(40), sa.ForeignKey("departments.code"), nullable=False
        ),
        sa.CheckConstraint(f"code ~ '{CODE_FORMAT}'", name="issue_categories_code_format"),
    )
    op.create_table(
        "category_deadlines",
        sa.Column(
            "category_code", sa.String(40), sa.ForeignKey("issue_categories.code"), nullable=False
        ),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("unit", sa.String(5), nullable=False),
        sa.PrimaryKeyConstraint("category_code", "stage", name="category_deadlines_pkey"),
        sa.CheckConstraint("unit IN ('hours', 'days')", name="category_deadlines_unit"),
        sa.CheckConstraint("amount >= 0", name="category_deadlines_amount"),
    )
    op.create_table(
        "department_routes",
        sa.Column(
            "category_code", sa.String(40), sa.ForeignKey("issue_categories.code"), nullable=False
        ),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column(
            "department_code", sa.String(40), sa.ForeignKey("departments.code"), nullable=False
        ),
        sa.PrimaryKeyConstraint("category_code", "district_code", name="department_routes_pkey"),
        sa.CheckConstraint("district_code ~ '^[0-9]{6}$'", name="department_routes_district"),
    )


def issues_table() -> None:
    op.create_table(
        "issues",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("tracking_code", sa.String(16), nullable=False, unique=True),
        sa.Column(
            "category_code", sa.String(40), sa.ForeignKey("issue_categories.code"), nullable=False
        ),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("reporter_contact", sa.Text),
        sa.Column("anonymous", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("reporter_subject", sa.Text),
        sa.Column("crs", sa.String(8), nullable=False),
        sa.Column("reported_lon", sa.Float, nullable=False),
        sa.Column("reported_lat", sa.Float, nullable=False),
        sa.Column("accuracy_m", sa.Float),
        sa.Column(
            "geom",
            Geometry(geometry_type="POINT", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("routing", sa.String(8), nullable=False),
        sa.Column("routing_distance_m", sa.Float),
        sa.Column("grid_code", sa.String(15)),
        sa.Column("community_code", sa.String(12)),
        sa.Column("street_code", sa.String(9)),
        sa.Column("district_code", sa.String(6)),
        sa.Column("department_code", sa.String(40), sa.ForeignKey("departments.code")),
        sa.Column(
            "departments",
            ARRAY(sa.String(40)),
            nullable=False,
            server_default=sa.text("'{}'::varchar[]"),
        ),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("deadline_at", TIMESTAMP(timezone=True)),
        sa.Column("paused_hours", sa.Float),
        sa.Column("escalated_at", TIMESTAMP(timezone=True)),
        sa.Column("survivor_id", sa.BigInteger, sa.ForeignKey("issues.id")),
        sa.Column("rating", sa.SmallInteger),
        created_at(),
        sa.Column("closed_at", TIMESTAMP(timezone=True)),
        sa.CheckConstraint(
            "routing IN ('inside', 'nearest', 'unrouted', 'manual')", name="issues_routing"
        ),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="issues_rating"),
    )
    op.create_index("issues_geom_gist", "issues", ["geom"], postgresql_using="gist")
    op.create_index(
        "ix_issues_open_deadline",
        "issues",
        ["deadline_at"],
        postgresql_where=sa.text("deadline_at IS NOT NULL"),
    )
    for column in ("category_code", "grid_code", "district_code", "status"):
        op.create_index(f"ix_issues_{column}", "issues", [column])


def event_tables() -> None:
    op.create_table(
        "issue_events",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("issue_id", sa.BigInteger, sa.ForeignKey("issues.id"), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(12)),
        sa.Column("to_status", sa.String(12), nullable=False),
        sa.Column("actor_role", sa.String(12), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("details", JSONB),
        sa.Column("deadline_at", TIMESTAMP(timezone=True)),
        created_at(),
    )
    op.create_index("ix_issue_events_issue_id", "issue_events", ["issue_id"])
    # The event table is append-only: the database itself refuses to change or delete a row.
    op.execute(
        """
        CREATE FUNCTION issue_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'issue_events is append-only: % refused', TG_OP;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER issue_events_append_only BEFORE UPDATE OR DELETE ON issue_events "
        "FOR EACH ROW EXECUTE FUNCTION issue_events_append_only()"
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.Text, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response", JSONB),
        created_at(),
        sa.PrimaryKeyConstraint("principal", "key", name="idempotency_keys_pkey"),
    )
    op.create_table(
        "issue_photos",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("issue_id", sa.BigInteger, sa.ForeignKey("issues.id"), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("media_type", sa.String(20), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        created_at(),
    )
    op.create_index("ix_issue_photos_issue_id", "issue_photos", ["issue_id"])


def seed_defaults() -> None:
    """The shipped departments and categories (an admin edits the routing table later)."""
    from gridsvc.issues.catalog.deadlines import default_categories, default_departments

    tables = {
        name: sa.table(name, *(sa.column(c) for c in columns))
        for name, columns in (
            ("departments", ("code", "name", "name_en")),
            ("issue_categories", ("code", "name", "name_en", "department_code")),
            ("category_deadlines", ("category_code", "stage", "amount", "unit")),
        )
    }
    op.bulk_insert(tables["departments"], default_departments())
    categories = default_categories()
    op.bulk_insert(
        tables["issue_categories"],
        [
            {
                "code": c.code,
                "name": c.name,
                "name_en": c.name_en,
                "department_code": c.department_code,
            }
            for c in categories
        ],
    )
    op.bulk_insert(
        tables["category_deadlines"],
        [
            {
                "category_code": c.code,
                "stage": stage.value,
                "amount": rule.amount,
                "unit": rule.unit,
            }
            for c in categories
            for stage, rule in c.deadlines.items()
        ],
    )


def upgrade() -> None:
    reference_tables()
    issues_table()
    event_tables()
    seed_defaults()


def downgrade() -> None:
    from gridsvc.cluster.downgrades import refuse_to_drop_rows

    # The reference tables hold the shipped seeds: only the cases themselves count as data.
    refuse_to_drop_rows(revision, "issues", "issue_events", "issue_photos")
    for table in ("issue_photos", "idempotency_keys", "issue_events"):
        op.drop_table(table)
    op.execute("DROP FUNCTION issue_events_append_only()")
    for table in (
        "issues",
        "department_routes",
        "category_deadlines",
        "issue_categories",
        "departments",
    ):
        op.drop_table(table)
