"""Alembic migrations of a database: upgrade, and downgrade guarded against data loss."""

from __future__ import annotations

from gridsvc.config import project_root


def alembic_config(url: str):
    """Return an Alembic configuration pointing at the project's ``alembic/`` folder and ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(project_root() / "alembic"))
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str, force: bool = False) -> None:
    """Downgrade the database at ``url`` to ``revision`` (``base`` drops every table).

    A step that would drop tables holding rows refuses (alembic's CommandError) unless
    ``force``, which passes ``-x force=true`` as the alembic command line would.
    """
    from argparse import Namespace

    from alembic import command

    config = alembic_config(url)
    config.cmd_opts = Namespace(x=["force=true"] if force else [])
    command.downgrade(config, revision)
