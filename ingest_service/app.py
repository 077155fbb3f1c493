"""The FastAPI application: `create_app(settings)` assembles it; `app` is what uvicorn runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException
from starlette.responses import Response

from clik.database import database_url
from ingest_service import dashboard, health, owner_routes, routes, tracker
from ingest_service.database import DatabaseUnavailable, open_pool
from ingest_service.events import EnvelopeError
from ingest_service.group_commit import BatchNotStored, GroupCommitter
from ingest_service.rate_limit import RateLimiter
from ingest_service.responses import error_response, unavailable
from ingest_service.schemas import IngestBatch
from ingest_service.settings import IngestSettings


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        primary = settings.ingest_database_url or database_url(settings)
        app.state.ingest_pool = await open_pool(
            primary,
            "ingest",
            settings,
            autocommit=True,  # each unit of work opens the transaction it needs
        )
        # The owner API reads a replica when one is named, else the primary.
        reader_url = (
            settings.read_database_url or settings.reader_database_url or database_url(settings)
        )
        app.state.reader_pool = await open_pool(reader_url, "reader", settings)
        app.state.group_commit = GroupCommitter(app.state.ingest_pool, settings)
        try:
            yield
        finally:
            # Shutdown (SIGTERM): uvicorn has stopped accepting and answered the requests in
            # flight; whatever is still queued is written and answered before the pools close.
            await app.state.group_commit.close()
            await app.state.ingest_pool.close(timeout=5)
            await app.state.reader_pool.close(timeout=5)

    app = FastAPI(
        title="clik ingest",
        summary="Receives the tracker's batches of sessions, page views and clicks.",
        version="1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.ip_hash_key = settings.ip_hash_key() if settings.ip_mode == "hash" else b""
    app.state.rate_limiter = (
        RateLimiter(settings.rate_limit_per_minute) if settings.rate_limit_per_minute else None
    )

    # Any page may embed the tracker; no cookies are involved, so no credentials.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=False,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type", "Authorization"],
        # the tracker backs off as told, from any origin; a replica says how fresh it is
        expose_headers=["Retry-After", owner_routes.REPLAYED_AT_HEADER],
        max_age=86400,
    )
    routes.add_ingest_route(app)
    app.include_router(health.router)
    app.include_router(tracker.router)
    app.include_router(owner_routes.router)
    app.include_router(dashboard.router)
    _add_error_handlers(app, settings)
    _document_request_bodies(app)
    return app


def _add_error_handlers(app: FastAPI, settings: IngestSettings) -> None:
    @app.exception_handler(EnvelopeError)
    async def refuse_batch(request: Request, error: EnvelopeError) -> Response:
        return error_response(error.status, error.message)

    @app.exception_handler(DatabaseUnavailable)
    async def database_unavailable(request: Request, error: DatabaseUnavailable) -> Response:
        return unavailable(settings.retry_after_s, str(error))

    @app.exception_handler(BatchNotStored)
    async def batch_not_stored(request: Request, error: BatchNotStored) -> Response:
        return error_response(500, "the batch could not be stored; nothing of it was written")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        return error_response(error.status_code, str(error.detail), error.headers)


def _document_request_bodies(app: FastAPI) -> None:
    """Adds the models of bodies that routes read themselves to the OpenAPI components."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            batch = IngestBatch.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(batch.pop("$defs", {}))
            components["IngestBatch"] = batch
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


app = create_app()
