"""GET /tracker.js: the browser tracker (static/tracker.js), cacheable and revalidated by ETag."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

from ingest_service.responses import error_response

router = APIRouter(tags=["tracker"])

TRACKER = Path(str(files("ingest_service").joinpath("static", "tracker.js")))
# Browsers reuse the script for an hour, then revalidate it cheaply (304) with its ETag.
CACHE_CONTROL = "public, max-age=3600"


@dataclass(frozen=True)
class _Script:
    stamp: tuple[int, int]  # (mtime_ns, size): reread when the file changes
    body: bytes
    etag: str


_cached: _Script | None = None


def _script() -> _Script | None:
    global _cached
    try:
        stat = TRACKER.stat()
    except FileNotFoundError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    if _cached is None or _cached.stamp != stamp:
        body = TRACKER.read_bytes()
        _cached = _Script(stamp, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return _cached


@router.get(
    "/tracker.js",
    summary="The browser tracker script",
    response_class=Response,
    responses={
        200: {"content": {"application/javascript": {}}, "description": "the script"},
        304: {"description": "the copy the browser holds (If-None-Match) is current"},
    },
)
async def tracker_js(request: Request) -> Response:
    script = _script()
    if script is None:
        return error_response(404, "tracker.js is not installed")
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": script.etag}
    if_none_match = request.headers.get("if-none-match", "")
    held = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if script.etag in held or "*" in held:
        return Response(status_code=304, headers=headers)
    return Response(script.body, headers=headers, media_type="application/javascript")
