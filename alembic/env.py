"""Alembic environment: the schema of gridsvc comes only from these migrations."""

from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

import gridsvc.models  # noqa: F401 - registers every table on Base.metadata
from alembic import context
from gridsvc.db import Base

config = context.config


def database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        from gridsvc.db import resolve_database_url

        url = resolve_database_url()
    return url


def run_migrations_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=alembic_helpers.include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("gridsvc migrations run online only: give a database URL")
run_migrations_online()
