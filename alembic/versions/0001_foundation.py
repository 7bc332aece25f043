"""Foundation: versioned boundaries, facilities, residents, walking network.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import TIMESTAMP

from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def geometry(kind: str) -> Geometry:
    return Geometry(geometry_type=kind, srid=4326, spatial_index=False)


def gist(table: str) -> None:
    op.create_index(f"{table}_geom_gist", table, ["geom"], postgresql_using="gist")


def boundary_table(table: str, digits: int, *columns: sa.Column) -> None:
    """A versioned boundary table: one current row per code, older generations kept."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(digits), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        *columns,
        sa.Column("generation", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column(
            "valid_from",
            TIMESTAMP(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.Column("valid_to", TIMESTAMP(timezone=True)),
        sa.Column("geom", geometry("MULTIPOLYGON"), nullable=False),
        sa.CheckConstraint(f"code ~ '^[0-9]{{{digits}}}$'", name=f"{table}_code_format"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name=f"{table}_valid_span"),
    )
    op.create_index(
        f"{table}_current_code",
        table,
        ["code"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    gist(table)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    boundary_table("districts", 6)
    boundary_table(
        "streets",
        9,
        sa.Column("district_id", sa.Integer, sa.ForeignKey("districts.id"), nullable=False),
    )
    boundary_table(
        "communities",
        12,
        sa.Column("street_id", sa.Integer, sa.ForeignKey("streets.id"), nullable=False),
        sa.Column("kind", sa.String(5), nullable=False),
        sa.CheckConstraint("kind IN ('urban', 'rural')", name="communities_kind"),
    )
    boundary_table(
        "grids",
        15,
        sa.Column("community_id", sa.Integer, sa.ForeignKey("communities.id"), nullable=False),
        sa.Column("population", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("households", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("grid_workers", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.CheckConstraint(
            "population >= 0 AND households >= 0 AND grid_workers >= 0", name="grids_counts"
        ),
    )
    parents = (("streets", "district"), ("communities", "street"), ("grids", "community"))
    for table, parent in parents:
        op.create_index(f"ix_{table}_{parent}_id", table, [f"{parent}_id"])

    op.create_table(
        "facility_types",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.CheckConstraint("code ~ '^[a-z][a-z0-9_]*$'", name="facility_types_code_format"),
    )
    op.create_table(
        "facilities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("type_code", sa.String(40), sa.ForeignKey("facility_types.code"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("capacity", sa.Integer),
        sa.Column("source", sa.Text, nullable=False, server_default=sa.text("'manual'")),
        sa.Column(
            "created_at",
            TIMESTAMP(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.Column("geom", geometry("POINT"), nullable=False),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="facilities_capacity"),
    )
    op.create_index("ix_facilities_type_code", "facilities", ["type_code"])
    gist("facilities")

    op.create_table(
        "population_points",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("persons", sa.Integer, nullable=False),
        sa.Column("geom", geometry("POINT"), nullable=False),
        sa.CheckConstraint("persons > 0", name="population_points_persons"),
    )
    gist("population_points")

    op.create_table(
        "network_nodes",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("geom", geometry("POINT"), nullable=False),
    )
    gist("network_nodes")
    op.create_table(
        "network_edges",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("source", sa.BigInteger, sa.ForeignKey("network_nodes.id"), nullable=False),
        sa.Column("target", sa.BigInteger, sa.ForeignKey("network_nodes.id"), nullable=False),
        sa.Column("length_m", sa.Float, nullable=False),
        sa.Column("geom", geometry("LINESTRING"), nullable=False),
        sa.CheckConstraint("length_m > 0", name="network_edges_length"),
    )
    op.create_index("ix_network_edges_source", "network_edges", ["source"])
    op.create_index("ix_network_edges_target", "network_edges", ["target"])
    gist("network_edges")


def downgrade() -> None:
    from gridsvc.cluster.downgrades import refuse_to_drop_rows

    tables = (
        "network_edges",
        "network_nodes",
        "population_points",
        "facilities",
        "facility_types",
        "grids",
        "communities",
        "streets",
        "districts",
    )
    refuse_to_drop_rows(revision, *tables)
    for table in tables:
        op.drop_table(table)
