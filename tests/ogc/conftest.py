"""The app on a real server over the demo city, for the real OGC clients (GDAL, OWSLib)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.servers import committing_server


@pytest.fixture(scope="module")
def ogc_server(engine: Engine, loaded_demo_city) -> Iterator[str]:
    """Base URL of the service at /ogc, serving the test database's demo city."""
    serving = committing_server(engine)
    base = next(serving)
    yield f"{base}/ogc"
    serving.close()


@pytest.fixture(scope="module")
def full_city_ogc_server(full_city_engine: Engine) -> Iterator[str]:
    """Base URL of the service at /ogc over the full-size demo city (tests marked full_city)."""
    serving = committing_server(full_city_engine)
    base = next(serving)
    yield f"{base}/ogc"
    serving.close()
