"""Reads a request body within the size limit and parses it as JSON within the depth limit.

A body sent with `Content-Encoding: gzip` (or `x-gzip`, which RFC 9110 says to treat as
gzip) is decompressed; the size limit applies to the bytes received and again to the
decompressed body, which is never inflated past it (a small gzip bomb costs no memory).
`identity` means no encoding; any other encoding is refused with 415.

A client that closes its connection before the body ends gets a 400 nobody will read,
rather than an exception escaping the app (one traceback per aborted upload in the log).
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from ingest_service.events import EnvelopeError

JSON_TYPES = ("application/json", "text/plain")  # text/plain: what navigator.sendBeacon sends
GZIP_NAMES = ("gzip", "x-gzip")
GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib reads a gzip header and trailer, not a zlib one


def check_content_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in JSON_TYPES:
        raise EnvelopeError(415, "the body must be JSON sent as application/json or text/plain")


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, decoded as its Content-Encoding says, at most `max_bytes` long both as
    received and as decoded: EnvelopeError 413 beyond, 415 for an unknown encoding, 400 when
    it is not the gzip it claims to be or the client hung up before sending all of it."""
    gzipped = _is_gzipped(request)
    received = await _receive(request, max_bytes)
    return gunzip(received, max_bytes) if gzipped else received


def _is_gzipped(request: Request) -> bool:
    """True for gzip, False for no encoding; EnvelopeError 415 for anything else, stacked
    encodings ("gzip, gzip") included."""
    listed = ",".join(request.headers.getlist("content-encoding")).lower().split(",")
    encodings = [name.strip() for name in listed if name.strip() not in ("", "identity")]
    if not encodings:
        return False
    if len(encodings) == 1 and encodings[0] in GZIP_NAMES:
        return True
    raise EnvelopeError(415, "the only Content-Encoding accepted is gzip")


async def _receive(request: Request, max_bytes: int) -> bytes:
    """The bytes received, refused with 413 as soon as they are known to exceed `max_bytes`:
    from Content-Length before reading anything, else while they stream in (chunked)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            chunks.append(chunk)
    except ClientDisconnect:
        raise EnvelopeError(400, "the client closed the connection before the body ended") from None
    return b"".join(chunks)


def gunzip(data: bytes, max_bytes: int) -> bytes:
    """`data` decompressed, never inflated past `max_bytes` + 1 bytes: EnvelopeError 413 when
    it is longer, 400 when it is not one complete gzip stream.

    Only one gzip member: no HTTP client sends more, and reading the members one after the
    other copies the rest of the input for each one (quadratic in a body of empty members).
    """
    stream = zlib.decompressobj(wbits=GZIP_WBITS)
    try:
        # With max_length, zlib stops once the output is that long. Shorter output means it
        # used all the input: the stream is then either complete or cut short.
        decoded = stream.decompress(data, max_bytes + 1)
    except zlib.error:
        raise EnvelopeError(400, "the body is labelled gzip but is not gzip") from None
    if len(decoded) > max_bytes:
        raise EnvelopeError(413, f"body too large: over {max_bytes} bytes once decompressed")
    if not stream.eof:
        raise EnvelopeError(400, "the gzip body is truncated")
    if stream.unused_data:
        raise EnvelopeError(400, "the gzip body goes on after its end")
    return decoded


def _too_large(max_bytes: int) -> EnvelopeError:
    return EnvelopeError(413, f"body too large: over {max_bytes} bytes")


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
