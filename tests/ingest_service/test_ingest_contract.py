"""docs/contract.md section 3, rule by rule, through HTTP."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.ingest_service.conftest import (
    INGEST,
    ago,
    batch,
    click,
    counters_disagreeing,
    iso,
    page_view,
    session_event,
    table_counts,
)

pytestmark = pytest.mark.anyio

NOTHING = (0, 0, 0)


def spec_example() -> dict:
    """docs/contract.md section 3's example body, with times of today (older ones would be rejected)."""
    start = ago(minutes=30)
    return {
        "sent_at": iso(ago(minutes=29)),
        "events": [
            {"type": "session", "data": {"session_id": "s1", "user_code": "myclik",
                                         "share_code": "qr1", "contact_id": None,
                                         "first_seen": iso(start), "user_agent": "...",
                                         "referrer": "https://..."}},
            {"type": "page_view", "data": {"id": str(uuid.uuid4()), "session_id": "s1",
                                           "user_code": "myclik", "share_code": "qr1",
                                           "page_type": "home", "viewed_at": iso(ago(minutes=29))}},
            {"type": "click", "data": {"id": str(uuid.uuid4()), "session_id": "s1",
                                       "user_code": "myclik", "share_code": "qr1",
                                       "click_target": "phone", "click_category": "contact",
                                       "clicked_at": iso(ago(minutes=28))}},
        ],
    }  # fmt: skip


async def test_the_spec_example_is_stored_and_sending_it_again_changes_nothing(
    client, conn: psycopg.Connection
) -> None:
    body = spec_example()
    first = await client.post(INGEST, json=body)
    assert first.status_code == 200
    assert first.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    stored = conn.execute(
        "SELECT user_code, share_code, page_views, clicks, received_at FROM analytics_sessions"
    ).fetchall()

    again = await client.post(INGEST, json=body)
    assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert table_counts(conn) == (1, 1, 1)
    assert stored[0][:4] == ("myclik", "qr1", 1, 1)
    assert (
        conn.execute(
            "SELECT user_code, share_code, page_views, clicks, received_at FROM analytics_sessions"
        ).fetchall()
        == stored
    )


async def test_text_plain_bodies_are_read_as_json(client, conn: psycopg.Connection) -> None:
    import orjson

    response = await client.post(
        INGEST,
        content=orjson.dumps(spec_example()),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    assert response.json()["accepted"] == 3
    assert table_counts(conn) == (1, 1, 1)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "error"),
    [
        ("application/x-www-form-urlencoded", b"events=1", 415, "application/json"),
        ("", b"{}", 415, "application/json"),
        ("application/json", b"{not json", 400, "not valid JSON"),
        ("application/json", b"\xff\xfe{}", 400, "not valid JSON"),
        ("application/json", b"[]", 400, "JSON object"),
        ("application/json", b'{"events": {}}', 400, "array"),
        ("application/json", b'{"events": []}', 400, "no events"),
        ("application/json", b'{"sent_at": "yesterday", "events": [{}]}', 400, "sent_at"),
        ("application/json", b'{"events": [' + b"[" * 40 + b"]" * 40 + b"]}", 400, "too deep"),
        ("application/json", b"[" * 5000 + b"]" * 5000, 400, "too deep"),
    ],
)
async def test_unusable_bodies_are_refused_whole(
    client, conn: psycopg.Connection, content_type: str, body: bytes, status: int, error: str
) -> None:
    response = await client.post(INGEST, content=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert error in response.json()["error"]
    assert table_counts(conn) == NOTHING


async def test_a_body_over_the_limit_is_refused_while_it_streams(
    make_settings, conn: psycopg.Connection
) -> None:
    from ingest_service.app import create_app
    from tests.ingest_service.conftest import running

    body = batch(*[page_view("s1") for _ in range(40)])
    async with running(create_app(make_settings(max_body_bytes=2000))) as client:
        declared = await client.post(INGEST, json=body)
        assert declared.status_code == 413

        chunks_read = 0

        async def chunked():  # no Content-Length: the limit must hold while reading
            nonlocal chunks_read
            for _ in range(10_000):
                chunks_read += 1
                yield b" " * 1000

        streamed = await client.post(
            INGEST, content=chunked(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert "too large" in streamed.json()["error"]
        assert chunks_read < 10  # refused after ~2 KB, not after reading 10 MB
    assert table_counts(conn) == NOTHING


async def test_too_many_events_is_413(make_settings, conn: psycopg.Connection) -> None:
    from ingest_service.app import create_app
    from tests.ingest_service.conftest import running

    async with running(create_app(make_settings(max_events=5))) as client:
        response = await client.post(INGEST, json=batch(*[page_view("s1") for _ in range(6)]))
        assert response.status_code == 413
        assert "too many events" in response.json()["error"]
        assert (await client.post(INGEST, json=batch(page_view("s1")))).status_code == 200
    assert table_counts(conn) == (1, 1, 0)


BAD_EVENTS = [  # built when the test runs: times are relative to now
    (lambda: {"type": "page_view", "data": {"id": "x"}}, "`id` must be a UUID"),
    (lambda: with_data(page_view("s2"), session_id=None), "`session_id` is required"),
    (lambda: with_data(page_view("s2"), session_id=""), "`session_id` must have 1 to 128"),
    (lambda: with_data(page_view("s2"), session_id="s" * 129), "`session_id` must have 1 to 128"),
    (lambda: with_data(page_view("s2"), user_code=None), "`user_code` is required"),
    (lambda: with_data(page_view("s2"), user_code="u" * 65), "`user_code` must have 1 to 64"),
    (lambda: with_data(page_view("s2"), user_code=42), "`user_code` must be a string"),
    (lambda: with_data(page_view("s2"), page_type=None), "`page_type` is required"),
    (lambda: with_data(page_view("s2"), share_code="q" * 65), "`share_code` must have 1 to 64"),
    (lambda: with_data(page_view("s2"), page_type="a\x00b"), "NUL"),
    (lambda: with_data(page_view("s2"), viewed_at="2026-11-25T10:00:00"), "offset"),
    (lambda: with_data(page_view("s2"), viewed_at="yesterday"), "ISO 8601"),
    (lambda: with_data(page_view("s2"), viewed_at=1764064800), "ISO 8601"),
    (lambda: with_data(page_view("s2"), viewed_at=iso(ago(hours=169))), "older than the accepted age"),
    (lambda: with_data(page_view("s2"), viewed_at=iso(ago(minutes=-11))), "in the future"),
    (lambda: with_data(page_view("s2"), viewed_at="9999-12-31T23:59:59-14:00"), "offset"),
    (lambda: with_data(click("s2"), click_target="t" * 129), "`click_target` must have 1 to 128"),
    (lambda: with_data(click("s2"), click_target=None), "`click_target` is required"),
    (lambda: with_data(session_event("s2"), user_agent="u" * 1025), "`user_agent` must have"),
    (lambda: session_event("s2", first_seen=ago(minutes=5), last_seen=iso(ago(minutes=6))),
     "`last_seen` is before `first_seen`"),
    (lambda: {"type": "purchase", "data": {}}, "`type` must be one of"),
    (lambda: {"type": "click", "data": "phone"}, "`data` must be an object"),
    (lambda: "page_view", "must be an object"),
]  # fmt: skip


def with_data(event: dict, **changes: object) -> dict:
    return {"type": event["type"], "data": event["data"] | changes}


@pytest.mark.parametrize(("make_event", "error"), BAD_EVENTS)
async def test_a_bad_event_is_rejected_alone(
    client, conn: psycopg.Connection, make_event, error: str
) -> None:
    body = batch(page_view("s1"), make_event(), click("s1"))
    response = await client.post(INGEST, json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 2
    assert [item["index"] for item in answer["rejected"]] == [1]
    assert error in answer["rejected"][0]["error"]
    assert table_counts(conn) == (1, 1, 1)  # the neighbours, and their session


async def test_unknown_fields_are_ignored_and_server_owned_columns_never_come_from_the_body(
    client, conn: psycopg.Connection
) -> None:
    forged = {"ip_address": "198.51.100.1", "page_views": 1000, "clicks": 1000,
              "received_at": "2020-01-01T00:00:00Z", "colour": "blue"}  # fmt: skip
    response = await client.post(
        INGEST,
        json=batch(session_event("s1", **forged), page_view("s1", **forged), click("s1", **forged))
        | {"extra": [1, 2]},
    )
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    ip, page_views, clicks, recent = conn.execute(
        "SELECT ip_address, page_views, clicks, received_at > now() - interval '1 minute'"
        " FROM analytics_sessions"
    ).fetchone()
    assert (ip, page_views, clicks, recent) == ("203.0.113.0", 1, 1, True)  # truncated peer
    assert conn.execute(
        "SELECT bool_and(received_at > now() - interval '1 minute') FROM analytics_page_views"
    ).fetchone() == (True,)


async def test_missing_times_mean_now(client, conn: psycopg.Connection) -> None:
    view = page_view("s1")
    del view["data"]["viewed_at"]
    session = session_event("s1")
    del session["data"]["first_seen"]
    assert (await client.post(INGEST, json=batch(session, view))).json()["accepted"] == 2
    assert conn.execute(
        "SELECT viewed_at > now() - interval '1 minute' AND viewed_at <= now()"
        " FROM analytics_page_views"
    ).fetchone() == (True,)


async def test_an_id_already_stored_is_a_duplicate_whatever_its_time(
    client, conn: psycopg.Connection
) -> None:
    view = page_view("s1", viewed_at=ago(hours=30))
    assert (await client.post(INGEST, json=batch(view))).json()["accepted"] == 1
    moved = {"type": "page_view", "data": view["data"] | {"viewed_at": iso(ago(minutes=1))}}
    same_id_twice = page_view("s1")
    answer = (await client.post(INGEST, json=batch(moved, same_id_twice, same_id_twice))).json()
    assert answer == {"accepted": 1, "duplicates": 2, "rejected": []}
    assert table_counts(conn) == (1, 2, 0)
    assert counters_disagreeing(conn) == []


async def test_events_of_an_unknown_session_create_it_from_their_own_fields(
    client, conn: psycopg.Connection
) -> None:
    early, late = ago(minutes=50), ago(minutes=10)
    response = await client.post(
        INGEST,
        json=batch(
            click("s9", clicked_at=late, user_code="early", share_code=None),
            page_view("s9", viewed_at=early, user_code="early", share_code="qr7", contact_id="c1"),
        ),
    )
    assert response.json()["accepted"] == 2
    row = conn.execute(
        "SELECT user_code, share_code, contact_id, first_seen, last_seen, page_views, clicks,"
        " ip_address FROM analytics_sessions WHERE session_id = 's9'"
    ).fetchone()
    assert row == ("early", "qr7", "c1", early, late, 1, 1, "203.0.113.0")


async def test_sessions_keep_the_earliest_first_seen_and_the_latest_last_seen(
    client, conn: psycopg.Connection
) -> None:
    t = [ago(minutes=m) for m in (60, 50, 40, 30, 20)]
    await client.post(INGEST, json=batch(page_view("s1", viewed_at=t[2])))
    received_before = conn.execute("SELECT received_at FROM analytics_sessions").fetchone()[0]
    answer = (
        await client.post(
            INGEST, json=batch(session_event("s1", first_seen=t[1], contact_id="c-42"))
        )
    ).json()
    assert answer["accepted"] == 1  # moved first_seen earlier, filled contact_id
    await client.post(INGEST, json=batch(click("s1", clicked_at=t[4])))
    await client.post(INGEST, json=batch(page_view("s1", viewed_at=t[0])))
    await client.post(INGEST, json=batch(session_event("s1", first_seen=t[3])))
    first, last, contact, received = conn.execute(
        "SELECT first_seen, last_seen, contact_id, received_at FROM analytics_sessions"
    ).fetchone()
    assert (first, last, contact) == (t[0], t[4], "c-42")
    assert received > received_before  # first_seen moved earlier: the late-data sensor sees it
    assert counters_disagreeing(conn) == []


async def test_a_share_code_known_only_later_marks_the_session_changed(
    client, conn: psycopg.Connection
) -> None:
    """The session moves to its share code's group on its start day, so the late-data sensor
    must see it even when the later batch's own events fall on another day."""
    start = ago(minutes=50)
    await client.post(INGEST, json=batch(session_event("s1", first_seen=start, share_code=None)))
    received = "SELECT share_code, received_at FROM analytics_sessions"
    _, received_first = conn.execute(received).fetchone()

    later = session_event("s1", first_seen=start, last_seen=iso(ago(minutes=10)), share_code=None)
    assert (await client.post(INGEST, json=batch(later))).json()["accepted"] == 1
    _, received_unchanged = conn.execute(received).fetchone()
    assert received_unchanged == received_first  # a later last_seen changes no aggregate

    filled_in = batch(session_event("s1", first_seen=start))
    assert (await client.post(INGEST, json=filled_in)).json()["accepted"] == 1
    share_code, received_now = conn.execute(received).fetchone()
    assert share_code == "qr1"
    assert received_now > received_first


async def test_a_session_event_that_changes_nothing_is_a_duplicate(
    client, conn: psycopg.Connection
) -> None:
    event = session_event("s1")
    copy = {"type": "session", "data": dict(event["data"])}
    answer = (await client.post(INGEST, json=batch(event, copy))).json()
    assert answer == {"accepted": 1, "duplicates": 1, "rejected": []}
    later = session_event("s1", last_seen=iso(ago(minutes=1)))
    assert (await client.post(INGEST, json=batch(later))).json()["accepted"] == 1
    assert (await client.post(INGEST, json=batch(later))).json()["duplicates"] == 1


async def test_crawler_traffic_is_not_counted_and_the_answer_says_so(
    client, conn: psycopg.Connection
) -> None:
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    response = await client.post(
        INGEST,
        json=batch(page_view("s1"), click("s1")),
        headers={"User-Agent": googlebot},
    )
    assert response.json()["accepted"] == 0
    assert {item["error"].split(":")[0] for item in response.json()["rejected"]} == {"bot"}

    mixed = batch(
        session_event("bot-session", user_agent=googlebot),
        page_view("bot-session"),
        session_event("human"),
        page_view("human"),
    )
    answer = (await client.post(INGEST, json=mixed)).json()
    assert answer["accepted"] == 2
    assert [item["index"] for item in answer["rejected"]] == [0, 1]
    assert conn.execute("SELECT session_id FROM analytics_sessions").fetchall() == [("human",)]


async def test_counters_equal_rows_after_mixed_batches(client, conn: psycopg.Connection) -> None:
    views = [page_view(f"s{i % 3}") for i in range(12)]
    clicks = [click(f"s{i % 4}") for i in range(7)]
    await client.post(INGEST, json=batch(*views[:6], *clicks[:3]))
    await client.post(INGEST, json=batch(*views[3:], *clicks))
    assert table_counts(conn) == (4, 12, 7)
    assert counters_disagreeing(conn) == []


async def test_cors_any_origin_without_credentials(client) -> None:
    preflight = await client.options(
        INGEST,
        headers={
            "Origin": "https://card.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    posted = await client.post(
        INGEST, json=batch(page_view("s1")), headers={"Origin": "https://card.example"}
    )
    assert posted.headers["access-control-allow-origin"] == "*"
    # A page on another origin may read Retry-After, so the tracker backs off as told.
    exposed = posted.headers["access-control-expose-headers"].split(", ")
    assert exposed == ["Retry-After", "X-Clik-Replica-Replayed-At"]


async def test_the_service_writes_as_clik_ingest(client, conn: psycopg.Connection) -> None:
    """Each write transaction takes role clik_ingest and UTC for itself (nothing is set for
    the pooled session, which PgBouncer may share): a trigger refuses any other writer."""
    conn.execute(
        """
        CREATE FUNCTION test_writer_is_ingest() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF current_user <> 'clik_ingest' OR current_setting('TimeZone') <> 'UTC' THEN
                RAISE EXCEPTION 'written as % in %', current_user, current_setting('TimeZone');
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_writer_is_ingest BEFORE INSERT ON analytics_page_views
            FOR EACH ROW EXECUTE FUNCTION test_writer_is_ingest();
        """
    )
    answer = await client.post(INGEST, json=batch(session_event("s1"), page_view("s1")))
    assert answer.json()["accepted"] == 2
    pool = client._transport.app.state.ingest_pool
    async with pool.connection() as pooled:  # and the session itself keeps nothing of it
        row = await (await pooled.execute("SELECT current_user = session_user")).fetchone()
    assert row == (True,)
