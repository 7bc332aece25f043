"""The API under test: the app's session dependency replaced by the test's rolled-back session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gridsvc.db import get_session
from gridsvc.main import create_app
from tests.factories import LatticeCity, make_test_city


@pytest.fixture
def client(db_session: Session) -> Iterator[TestClient]:
    app = create_app()

    def test_session() -> Iterator[Session]:
        try:
            yield db_session
            db_session.commit()  # releases the savepoint only; db_session rolls all back
        except BaseException:
            db_session.rollback()
            raise

    app.dependency_overrides[get_session] = test_session
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def city(db_session: Session) -> LatticeCity:
    return make_test_city(db_session)
