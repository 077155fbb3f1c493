"""GET /healthz (the process answers) and GET /readyz (the database answers too)."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter
from starlette.responses import Response

from ingest_service.database import DatabaseUnavailable, run_unit
from ingest_service.dependencies import IngestPool, Settings
from ingest_service.queries import query
from ingest_service.responses import json_response, unavailable
from ingest_service.schemas import ErrorBody, Status

router = APIRouter(tags=["health"])

CHECK_READY = query("check_ready.sql")


@router.get("/healthz", response_model=Status, summary="The process is alive")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    response_model=Status,
    summary="The service can write: its database answers",
    responses={503: {"model": ErrorBody, "description": "the database does not answer"}},
)
async def readyz(settings: Settings, pool: IngestPool) -> Response:
    async def check(conn: psycopg.AsyncConnection) -> None:
        async with conn.transaction():
            await conn.execute(CHECK_READY)

    try:
        await run_unit(pool, settings, check)
    except DatabaseUnavailable as error:
        return unavailable(settings.retry_after_s, str(error))
    return json_response({"status": "ready"})
