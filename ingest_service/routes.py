"""POST /api/analytics/ingest: the tracker's batches."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI, Request
from starlette.responses import Response

from ingest_service.body import check_content_type, parse_json, read_body
from ingest_service.client_ip import client_address, stored_ip
from ingest_service.events import TimeWindow, check_envelope, check_events
from ingest_service.group_commit import GroupCommitter
from ingest_service.plan import plan_batch
from ingest_service.responses import error_response, json_response
from ingest_service.schemas import EXAMPLE_BATCH, ErrorBody, IngestResult
from ingest_service.settings import IngestSettings

ERRORS = {
    400: "not JSON, not a batch, no events, nested too deep, labelled gzip but not gzip, or "
    "the body ended early",
    413: "body (as sent or decompressed) or event count over the limit (CLIK_MAX_BODY_BYTES, "
    "CLIK_MAX_EVENTS)",
    415: "content type other than application/json or text/plain, or a Content-Encoding "
    "other than gzip",
    429: "too many requests from this address (CLIK_RATE_LIMIT_PER_MINUTE): retry after "
    "Retry-After seconds; nothing was written",
    503: "the database is unavailable, the ingest queue is full or the service is stopping: "
    "retry after Retry-After seconds; nothing was written",
}

REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/IngestBatch"},
            "example": EXAMPLE_BATCH,
        },
        "text/plain": {
            "schema": {"type": "string", "description": "the same JSON, as sendBeacon sends it"},
        },
    },
}


def add_ingest_route(app: FastAPI) -> None:
    """The hot path goes on the app itself, ahead of the included routers: FastAPI's matching
    through an included router cost ~20 us of CPU per request (a fifth of the framework's share
    in a profile under tracker-shaped load)."""
    app.add_api_route(
        "/api/analytics/ingest",
        ingest,
        methods=["POST"],
        tags=["ingest"],
        **INGEST_ROUTE,
    )


INGEST_ROUTE: dict = dict(
    summary="Store a batch of tracker events",
    description=(
        "200 only after the transaction holding the batch committed (concurrent batches are "
        "written together, each answered on its own). Each event is validated on "
        "its own: a bad event is rejected with its index and a reason while its neighbours "
        "are stored. An event whose id is already stored is a duplicate and changes nothing, "
        "so a retried batch never double counts. Traffic from known crawlers is rejected "
        "with the error `bot`."
    ),
    response_model=IngestResult,
    responses={
        status: {"model": ErrorBody, "description": text} for status, text in ERRORS.items()
    },
    openapi_extra={"requestBody": REQUEST_BODY},
)


async def ingest(request: Request) -> Response:
    # The app's state directly, not through dependencies: FastAPI's dependency solving is
    # per-request work this route does not need.
    settings: IngestSettings = request.app.state.settings
    group_commit: GroupCommitter = request.app.state.group_commit
    peer = request.client.host if request.client else None
    address = client_address(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxies)
    limiter = request.app.state.rate_limiter
    if limiter is not None and address is not None and (wait := limiter.wait_seconds(str(address))):
        return error_response(
            429,
            f"rate limited: over {settings.rate_limit_per_minute} requests a minute from this "
            f"address; retry after {wait} s",
            {"Retry-After": str(wait)},
        )
    check_content_type(request)
    body = await read_body(request, settings.max_body_bytes)
    events = check_envelope(parse_json(body, settings.max_json_depth), settings.max_events)
    window = TimeWindow.around(datetime.now(UTC), settings.max_event_age_hours)
    batch = check_events(events, window)

    ip = stored_ip(address, settings.ip_mode, request.app.state.ip_hash_key, window.now.date())
    plan = plan_batch(batch, header_user_agent=request.headers.get("user-agent"), ip_address=ip)

    if plan.sessions:
        outcome = await group_commit.submit(plan, window)
    else:  # nothing valid to write: no transaction needed
        outcome = plan.outcome.copy()
        outcome.rejected.sort()
    return json_response(
        {
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates,
            "rejected": [{"index": index, "error": error} for index, error in outcome.rejected],
        }
    )
