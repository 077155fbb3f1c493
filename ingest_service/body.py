"""Reads a request body within the size limit and parses it as JSON within the depth limit."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from ingest_service.events import EnvelopeError

JSON_TYPES = ("application/json", "text/plain")  # text/plain: what navigator.sendBeacon sends


def check_content_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in JSON_TYPES:
        raise EnvelopeError(415, "the body must be JSON sent as application/json or text/plain")


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `max_bytes`: from its
    Content-Length before reading anything, else while it streams in (chunked uploads)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise EnvelopeError(413, f"body too large: over {max_bytes} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise EnvelopeError(413, f"body too large: over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, max_depth: int) -> Any:
    """The parsed body; EnvelopeError 400 when it is not JSON or nests deeper than
    `max_depth` (checked explicitly: parsers' own recursion limits vary)."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        if "depth" in str(error).lower() or "recursion" in str(error).lower():
            raise EnvelopeError(400, f"JSON nested too deep (over {max_depth} levels)") from None
        raise EnvelopeError(400, "the body is not valid JSON (UTF-8)") from None
    if _deeper_than(payload, max_depth):
        raise EnvelopeError(400, f"JSON nested too deep (over {max_depth} levels)")
    return payload


def _deeper_than(value: Any, limit: int) -> bool:
    """True when arrays/objects nest more than `limit` levels (iterative: no recursion)."""
    if not isinstance(value, dict | list):
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False
