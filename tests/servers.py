"""The app on a real uvicorn server on loopback, committing into the test database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.db import get_session, transaction_per_request
from gridsvc.main import create_app
from tests.maps.conftest import free_port


def committing_server(engine: Engine) -> Iterator[str]:
    """Serve the app in a thread until the generator is closed; yield its base URL."""
    app = create_app()
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    def committing_session() -> Iterator[Session]:
        yield from transaction_per_request(factory)

    app.dependency_overrides[get_session] = committing_session
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    uvicorn_server.should_exit = True
    thread.join(10)
