"""JSON answers: orjson bodies, and the error shape `{"error": ...}` of every refusal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


def json_response(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


def error_response(
    status_code: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return json_response({"error": message}, status_code, headers)


def unavailable(retry_after_s: int, message: str = "the database is unavailable") -> Response:
    """503: the client should retry later (the tracker keeps the batch and backs off)."""
    return error_response(503, message, {"Retry-After": str(retry_after_s)})
