"""Coverage: service areas, coverage per grid and circle, refreshes.

Revision ID: 0003_coverage
Revises: 0002_issues
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import TIMESTAMP

from alembic import op

revision = "0003_coverage"
down_revision = "0002_issues"
branch_labels = None
depends_on = None


def geometry(kind: str) -> Geometry:
    return Geometry(geometry_type=kind, srid=4326, spatial_index=False)


def gist(table: str) -> None:
    op.create_index(f"{table}_geom_gist", table, ["geom"], postgresql_using="gist")


def upgrade() -> None:
    op.create_table(
        "service_areas",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("facility_id", sa.Integer, nullable=False),
        sa.Column("type_code", sa.String(40), nullable=False),
        sa.Column("mode", sa.String(9), nullable=False),
        sa.Column("threshold_m", sa.Float, nullable=False),
        sa.Column("geom", geometry("MULTIPOLYGON"), nullable=False),
        sa.CheckConstraint("mode IN ('network', 'euclidean')", name="service_areas_mode"),
        sa.CheckConstraint("threshold_m > 0", name="service_areas_threshold"),
        sa.UniqueConstraint("facility_id", "mode", "threshold_m", name="service_areas_facility"),
    )
    op.create_index("ix_service_areas_type_code", "service_areas", ["type_code"])
    gist("service_areas")
    op.create_table(
        "grid_coverage",
        sa.Column("grid_code", sa.String(15), primary_key=True),
        sa.Column("circle", sa.String(64), primary_key=True),
        sa.Column("mode", sa.String(9), primary_key=True),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("street_code", sa.String(9), nullable=False),
        sa.Column("community_code", sa.String(12), nullable=False),
        sa.Column("residents", sa.Integer, nullable=False),
        sa.Column("covered_residents", sa.Integer, nullable=False),
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("covered_area_m2", sa.Float, nullable=False),
        sa.Column("geom", geometry("MULTIPOLYGON")),
        sa.CheckConstraint("mode IN ('network', 'euclidean')", name="grid_coverage_mode"),
        sa.CheckConstraint(
            "covered_residents >= 0 AND covered_residents <= residents",
            name="grid_coverage_counts",
        ),
    )
    op.create_index(
        "grid_coverage_circle_district", "grid_coverage", ["circle", "mode", "district_code"]
    )
    gist("grid_coverage")
    op.create_table(
        "coverage_refreshes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scope", sa.String(6), nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("circles", sa.Text, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column(
            "finished_at",
            TIMESTAMP(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
    )


def downgrade() -> None:
    from gridsvc.cluster.downgrades import refuse_to_drop_rows

    refuse_to_drop_rows(revision, "service_areas", "grid_coverage", "coverage_refreshes")
    op.drop_table("coverage_refreshes")
    op.drop_table("grid_coverage")
    op.drop_table("service_areas")
