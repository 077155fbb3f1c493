"""Real servers for end-to-end tests: the ingest app under uvicorn in a thread, on an ephemeral
port of 127.0.0.1, against a test database."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from ingest_service.app import create_app
from ingest_service.settings import IngestSettings


@contextmanager
def running_ingest(database_url: str, home: Path, **settings: Any) -> Iterator[str]:
    """Serves create_app(settings) until the block ends; yields its base URL."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "home": home,
        "db_pool_min_size": 1,
        "db_pool_max_size": 8,
    }
    app = create_app(IngestSettings(**(values | settings)))
    with serving(app) as url:
        yield url


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Runs an ASGI app under uvicorn in a thread on an ephemeral port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the ingest app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()
