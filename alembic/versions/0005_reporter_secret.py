"""Reporter secret and publication: the public id is no credential, staff publish reports.

The tracking code becomes the public id (``issues.public_id``): what Open311 calls
``service_request_id`` and what staff and lists show. The reporter's credential is a
secret returned once in the 201 and kept only as its SHA-256 (``issues.secret_hash``).
Reports made before this revision have no secret: their old tracking codes were public,
so they stop being a credential; staff can still act on those reports.

A report is public only once staff publish it (``published_at``, with the text they
publish, ``published_text``); a photo only when published with it
(``issue_photos.published``).

Revision ID: 0005_reporter_secret
Revises: 0004_geodata
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TIMESTAMP

from alembic import op
from gridsvc.cluster.downgrades import DowngradeRefused, forced

revision = "0005_reporter_secret"
down_revision = "0004_geodata"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("issues", "tracking_code", new_column_name="public_id")
    op.execute(
        "ALTER TABLE issues RENAME CONSTRAINT issues_tracking_code_key TO issues_public_id_key"
    )
    op.add_column("issues", sa.Column("secret_hash", sa.String(64), unique=True))
    op.add_column("issues", sa.Column("published_at", TIMESTAMP(timezone=True)))
    op.add_column("issues", sa.Column("published_text", sa.Text))
    op.add_column(
        "issue_photos",
        sa.Column("published", sa.Boolean, nullable=False, server_default=sa.text("false")),
    )
    op.create_index(
        "ix_issues_published",
        "issues",
        ["published_at"],
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )


def downgrade() -> None:
    held = op.get_bind().execute(
        sa.text(
            "SELECT count(*) FROM issues WHERE secret_hash IS NOT NULL OR published_at IS NOT NULL"
        )
    )
    count = held.scalar_one()
    if count and not forced():
        raise DowngradeRefused(
            f"Downgrading below {revision} would delete the secrets and publications of "
            f"{count} issues. Nothing was changed. To delete them, run `gridsvc db downgrade "
            "REVISION --force` (or `alembic -x force=true downgrade REVISION`)."
        )
    op.drop_index("ix_issues_published", table_name="issues")
    op.drop_column("issue_photos", "published")
    op.drop_column("issues", "published_text")
    op.drop_column("issues", "published_at")
    op.drop_column("issues", "secret_hash")
    op.execute(
        "ALTER TABLE issues RENAME CONSTRAINT issues_public_id_key TO issues_tracking_code_key"
    )
    op.alter_column("issues", "public_id", new_column_name="tracking_code")
