"""Servers for end-to-end tests, all on ephemeral ports of 127.0.0.1: the real ingest app under
uvicorn in a thread (against a test database), a recording proxy in front of it that can fail
requests, and a site of test pages on another origin."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from ingest_service.app import create_app
from ingest_service.settings import IngestSettings

INGEST_PATH = "/api/analytics/ingest"
TRACKER_JS = Path(__file__).resolve().parents[2] / "ingest_service" / "static" / "tracker.js"
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade", "host",
                        "proxy-connection", "te", "trailer"})  # fmt: skip


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


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def _threaded(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Exchange:
    """One request that went through the proxy, and what it answered."""

    method: str
    path: str
    body: bytes
    content_type: str
    status: int | None  # None: the connection was dropped ("server down")

    def events(self) -> list[dict]:
        return json.loads(self.body)["events"]


class IngestProxy:
    """A reverse proxy in front of the ingest app that records every request and can fail
    them: `fail_next(n)` answers the next n ingest POSTs with the service's own 503 (CORS and
    Retry-After headers included) without forwarding them; `down = True` drops the connection
    of every ingest POST unanswered, as an unreachable server would (the page and tracker.js
    still load: they could come from a cache or another server)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.exchanges: list[Exchange] = []
        self.down = False
        self._failures = 0
        self._retry_after = "1"
        self._lock = threading.Lock()

    def fail_next(self, count: int = 1, retry_after: int = 1) -> None:
        with self._lock:
            self._failures = count
            self._retry_after = str(retry_after)

    def posts(self) -> list[Exchange]:
        with self._lock:
            return [e for e in self.exchanges if e.method == "POST"]

    def methods(self) -> set[str]:
        with self._lock:
            return {e.method for e in self.exchanges}

    @contextmanager
    def running(self) -> Iterator[str]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            do_POST = do_OPTIONS = do_GET

        with _threaded(Handler) as url:
            yield url

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        is_ingest = request.command == "POST" and request.path.startswith(INGEST_PATH)
        kind = request.headers.get("Content-Type", "")
        with self._lock:
            if self.down and is_ingest:
                self.exchanges.append(Exchange(request.command, request.path, body, kind, None))
                request.close_connection = True
                request.connection.shutdown(socket.SHUT_RDWR)
                return
            failing = is_ingest and self._failures > 0
            if failing:
                self._failures -= 1
        if failing:
            status, answer = 503, b'{"error":"database down"}'
            headers = {
                "Retry-After": self._retry_after,
                "Content-Type": "application/json",
                "Access-Control-Allow-Origin": "*",
                # Without this a page on another origin cannot read Retry-After.
                "Access-Control-Expose-Headers": "Retry-After",
            }
        else:
            status, headers, answer = self._forward(request, body)
        with self._lock:
            self.exchanges.append(Exchange(request.command, request.path, body, kind, status))
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(answer)))
        request.end_headers()
        request.wfile.write(answer)

    def _forward(
        self, request: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        upstream = http.client.HTTPConnection(
            self.upstream.hostname, self.upstream.port, timeout=30
        )
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(request.command, request.path, body or None, headers)
            response = upstream.getresponse()
            answer = response.read()
            kept = {k: v for k, v in response.getheaders()
                    if k.lower() not in HOP_BY_HOP | {"content-length"}}  # fmt: skip
            return response.status, kept, answer
        finally:
            upstream.close()


# Test pages. The clock shim lives here, in the page, not in the tracker: Date.now() runs
# localStorage["test:clock-offset"] milliseconds ahead of the real clock.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{path}</title>
<script>
(function () {{
  var realNow = Date.now;
  Date.now = function () {{
    return realNow.call(Date) + Number(localStorage.getItem("test:clock-offset") || 0);
  }};
}})();
</script>
<script defer src="{tracker}/tracker.js" data-user-code="card-1" data-share-code="qr1"
        data-contact-id="c-42"{attributes}></script>
</head><body>
<h1>{path}</h1>
<a id="call" href="tel:+15550100" onclick="return false">call</a>
<a id="call-and-leave" href="tel:+15550100" onclick="location.href = '/plain'; return false">call
  and leave</a>
<a id="mail" href="mailto:me@example.com" onclick="return false">mail</a>
<a id="whatsapp" href="https://wa.me/15550100" onclick="return false">whatsapp</a>
<button id="save" data-clik-click="save_contact" data-clik-category="vcard">
  <span id="save-label">save</span></button>
<a id="plain-link" href="/plain">not tracked</a>
<a id="next" href="/about">about</a>
</body></html>
"""
PLAIN = "<!doctype html><html><head><title>plain</title></head><body>no tracker</body></html>"


@contextmanager
def card_site(tracker_origin: str) -> Iterator[str]:
    """Serves test pages on their own origin: /plain has no tracker; any other path is a card
    page with the snippet. `?dnt=1` adds data-respect-dnt="true"; `?own=1` loads the site's own
    copy of tracker.js with data-endpoint naming the service and data-page-type="card"."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            kind = "text/html; charset=utf-8"
            if parts.path == "/plain":
                page = PLAIN
            elif parts.path == "/tracker.js":
                page, kind = TRACKER_JS.read_text(), "application/javascript"
            else:
                attributes = ' data-respect-dnt="true"' if "dnt=1" in parts.query else ""
                origin = tracker_origin
                if "own=1" in parts.query:
                    origin = f"http://127.0.0.1:{self.server.server_address[1]}"
                    attributes += (
                        f' data-endpoint="{tracker_origin}{INGEST_PATH}" data-page-type="card"'
                    )
                page = PAGE.format(path=parts.path, tracker=origin, attributes=attributes)
            data = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with _threaded(Handler) as url:
        yield url
