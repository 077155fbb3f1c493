"""Typed FastAPI dependencies: what the routes need from the app's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from ingest_service.settings import IngestSettings


# async: FastAPI runs a plain `def` dependency in a worker thread, per request (a hop that cost
# about 0.5 ms of CPU per request here).
async def get_settings(request: Request) -> IngestSettings:
    return request.app.state.settings


async def get_ingest_pool(request: Request) -> AsyncConnectionPool:
    return request.app.state.ingest_pool


async def get_reader_pool(request: Request) -> AsyncConnectionPool:
    """The owner API's pool: the reader's login, on CLIK_READ_DATABASE_URL when set."""
    return request.app.state.reader_pool


Settings = Annotated[IngestSettings, Depends(get_settings)]
IngestPool = Annotated[AsyncConnectionPool, Depends(get_ingest_pool)]
ReaderPool = Annotated[AsyncConnectionPool, Depends(get_reader_pool)]
