"""Whatever an owner with a valid token sends as parameters, the owner API answers 200, 400 or
404 with its documented shape: never a server error, never someone else's rows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clik.owners import add_owner
from ingest_service.app import create_app
from ingest_service.settings import IngestSettings
from tests.ingest_service.test_owner_api import ENDPOINTS, seed_daily_rows

ANY_TEXT = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=80),
    # Characters that have broken such APIs before: NUL, quotes, wildcards, escapes, emoji.
    st.text(st.sampled_from(list("a1b-\x00\x1f\x7f'\"%_\\;\n é\U0001f642")), max_size=70),
)
DATE_LIKE = st.one_of(
    st.sampled_from(["2026-11-01", "2026-11-03"]),  # valid, so the other parameters count
    st.dates().map(str),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
    ANY_TEXT,
)
PARAMETERS = st.fixed_dictionaries(
    {},
    optional={
        "user_code": st.one_of(st.sampled_from(["a1", "b1", "A1", "a1 "]), ANY_TEXT),
        "from": DATE_LIKE,
        "to": DATE_LIKE,
    },
)


@pytest.fixture
def owner_client(
    make_settings: Callable[..., IngestSettings], conn: psycopg.Connection
) -> Iterator[tuple[Callable, str]]:
    """A `get(path, params, headers)` that runs on one event loop for the whole test (the
    app's pool belongs to it), and Alice's token."""
    seed_daily_rows(conn, "a1", 1)
    seed_daily_rows(conn, "b1", 100)
    _, token = add_owner(conn, "alice", ["a1"])
    add_owner(conn, "bob", ["b1"])
    app = create_app(make_settings())
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        runner.run(stack.enter_async_context(app.router.lifespan_context(app)))
        client = runner.run(
            stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
            )
        )
        try:
            yield (lambda *args, **kwargs: runner.run(client.get(*args, **kwargs))), token
        finally:
            runner.run(stack.aclose())


def test_any_parameters_get_a_documented_answer(owner_client: tuple[Callable, str]) -> None:
    get, token = owner_client

    @given(path=st.sampled_from(ENDPOINTS), params=PARAMETERS)
    @settings(
        max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def answers(path: str, params: dict[str, str]) -> None:
        response = get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code in (200, 400, 404), (params, response.text)
        body = response.json()
        if response.status_code == 200:
            assert body["user_code"] == "a1"
            assert all(row.get("total_page_views", 0) < 100 for row in body["rows"])
        else:
            assert set(body) == {"error"}

    answers()
