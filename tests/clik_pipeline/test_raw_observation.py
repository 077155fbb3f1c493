"""raw_tables_observation_sensor: per-day row counts and latest receive times of the raw tables
on their partitions, exact under increments, moved sessions and late days, never reading rows
within the safety lag."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import psycopg
import pytest

from clik_pipeline.definitions import defs
from clik_pipeline.defs.raw.observation import KEPT_DAYS, ObservationCursor, observe
from clik_pipeline.defs.raw.sensors import build_raw_tables_observation_sensor
from clik_pipeline.partitions import daily_partitions
from tests.factories import (
    click,
    insert_clicks,
    insert_page_views,
    insert_sessions,
    page_view,
    session,
)

RAW = ("analytics_sessions", "analytics_page_views", "analytics_clicks")
DAY_COLUMN = {
    "analytics_sessions": "first_seen",
    "analytics_page_views": "viewed_at",
    "analytics_clicks": "clicked_at",
}

# The same sensor without the safety lag: a test cannot wait minutes for rows to age.
sensor = build_raw_tables_observation_sensor(lag=timedelta(0))


def tick(
    definition: dg.SensorDefinition, instance: dg.DagsterInstance, resources: dict, cursor
) -> dg.SensorResult:
    """One evaluation, its events recorded as the daemon records them."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    result = definition(context)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result


def observations(result: dg.SensorResult) -> list[dg.AssetObservation]:
    return [event for event in result.asset_events if isinstance(event, dg.AssetObservation)]


def observed(instance: dg.DagsterInstance, table: str, day: date) -> dict | None:
    """The latest observation of a table's day partition: its metadata values."""
    records = instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(table), asset_partitions=[day.isoformat()]),
        limit=1,
    ).records
    if not records:
        return None
    metadata = records[0].asset_observation.metadata
    return {key: value.value for key, value in metadata.items()}


def true_count(conn: psycopg.Connection, table: str, day: date) -> int:
    column = DAY_COLUMN[table]
    return conn.execute(
        f"SELECT count(*) FROM {table} WHERE ({column} AT TIME ZONE 'UTC')::date = %s", [day]
    ).fetchone()[0]


def last_received(conn: psycopg.Connection, table: str, day: date) -> float | None:
    column = DAY_COLUMN[table]
    (value,) = conn.execute(
        f"SELECT max(received_at) FROM {table} WHERE ({column} AT TIME ZONE 'UTC')::date = %s",
        [day],
    ).fetchone()
    return value.timestamp() if value else None


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


@pytest.fixture
def today(conn: psycopg.Connection) -> date:
    return conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()[0]


def visit(
    conn: psycopg.Connection, session_id: str, moment: datetime, views: int = 1, clicks: int = 0
) -> None:
    insert_sessions(conn, [session(session_id, moment)])
    insert_page_views(
        conn, [page_view(session_id, moment + timedelta(seconds=n)) for n in range(views)]
    )
    insert_clicks(conn, [click(session_id, moment + timedelta(seconds=n)) for n in range(clicks)])


def test_the_raw_tables_are_partitioned_by_day_and_observed_by_a_running_sensor() -> None:
    graph = defs.resolve_asset_graph()
    for table in RAW:
        node = graph.get(dg.AssetKey(table))
        assert node.partitions_def == daily_partitions
        assert not node.is_materializable
    production = defs.resolve_sensor_def("raw_tables_observation_sensor")
    assert production.default_status == dg.DefaultSensorStatus.RUNNING
    assert production.minimum_interval_seconds <= 600


def test_first_tick_counts_today_and_yesterday_and_later_ticks_add_what_arrived(
    instance, resources, conn: psycopg.Connection, today: date
) -> None:
    yesterday, earlier = today - timedelta(1), today - timedelta(3)
    visit(conn, "y", at(yesterday, 10), views=3, clicks=2)
    visit(conn, "t", at(today, 0), views=2, clicks=1)
    visit(conn, "e", at(earlier, 10), views=4)  # nobody asked about this day yet

    first = tick(sensor, instance, resources, None)

    for day, sessions, views, clicks in ((yesterday, 1, 3, 2), (today, 1, 2, 1)):
        assert observed(instance, "analytics_sessions", day)["dagster/row_count"] == sessions
        assert observed(instance, "analytics_page_views", day)["dagster/row_count"] == views
        assert observed(instance, "analytics_clicks", day)["dagster/row_count"] == clicks
        for table in RAW:
            metadata = observed(instance, table, day)
            assert metadata["last_received_at"] == pytest.approx(last_received(conn, table, day))
            assert metadata["dagster/last_updated_timestamp"] == metadata["last_received_at"]
    assert observed(instance, "analytics_page_views", earlier) is None

    # More of today, and late rows of an earlier day.
    visit(conn, "t2", at(today, 0, 1), views=5, clicks=2)
    visit(conn, "e2", at(earlier, 11), views=1, clicks=1)
    second = tick(sensor, instance, resources, first.cursor)

    for day in (today, earlier):
        for table in RAW:
            metadata = observed(instance, table, day)
            assert metadata["dagster/row_count"] == true_count(conn, table, day), (table, day)
            assert metadata["last_received_at"] == pytest.approx(last_received(conn, table, day))
    reported = {(event.asset_key.path[-1], event.partition) for event in observations(second)}
    # Yesterday received nothing: not reported again; today always is.
    assert all(day != yesterday.isoformat() for _, day in reported)
    assert {(table, today.isoformat()) for table in RAW} <= reported
    assert today.isoformat() in second.skip_reason.skip_message


def test_a_quiet_tick_reports_today_unchanged(
    instance, resources, conn: psycopg.Connection, today: date
) -> None:
    visit(conn, "t", at(today, 0), views=2)
    first = tick(sensor, instance, resources, None)
    quiet = tick(sensor, instance, resources, first.cursor)

    assert {(event.asset_key.path[-1], event.partition) for event in observations(quiet)} == {
        (table, today.isoformat()) for table in RAW
    }
    assert observed(instance, "analytics_page_views", today)["dagster/row_count"] == 2


def test_a_session_moved_to_an_earlier_day_is_counted_there(
    instance, resources, conn: psycopg.Connection, today: date
) -> None:
    first_day, second_day = today - timedelta(3), today - timedelta(2)
    started = tick(sensor, instance, resources, None)
    visit(conn, "s", at(second_day, 0, 5))
    insert_page_views(conn, [page_view("s", at(second_day, 0, 6))])
    known = tick(sensor, instance, resources, started.cursor)
    assert observed(instance, "analytics_sessions", second_day)["dagster/row_count"] == 1

    # An event of that session from the evening before arrives: it now starts on first_day.
    insert_page_views(conn, [page_view("s", at(first_day, 23, 50))])
    tick(sensor, instance, resources, known.cursor)

    assert observed(instance, "analytics_sessions", second_day)["dagster/row_count"] == 0
    assert observed(instance, "analytics_sessions", first_day)["dagster/row_count"] == 1
    assert observed(instance, "analytics_page_views", second_day)["dagster/row_count"] == 2
    assert observed(instance, "analytics_page_views", first_day)["dagster/row_count"] == 1


def test_counts_stay_exact_over_many_ticks(
    instance, resources, conn: psycopg.Connection, today: date
) -> None:
    rng = random.Random(11)
    recent = [today - timedelta(n) for n in range(KEPT_DAYS + 3)]  # some beyond the cursor
    cursor = None
    for round_ in range(6):
        for n in range(rng.randrange(1, 8)):
            day = rng.choice(recent[:3] if rng.random() < 0.7 else recent)
            moment = at(day, 0, rng.randrange(0, 60)) + timedelta(seconds=rng.randrange(60))
            visit(conn, f"r{round_}-{n}", moment, rng.randrange(0, 4), rng.randrange(0, 3))
        result = tick(sensor, instance, resources, cursor)
        cursor = result.cursor
        for event in observations(result):
            table, day = event.asset_key.path[-1], date.fromisoformat(event.partition)
            assert event.metadata["dagster/row_count"].value == true_count(conn, table, day), (
                round_,
                table,
                day,
            )
    kept = ObservationCursor.load(cursor).days
    assert min(kept) > today - timedelta(KEPT_DAYS)  # older days are counted afresh


def test_rows_younger_than_the_safety_lag_wait(
    instance, resources, conn: psycopg.Connection, today: date
) -> None:
    production = defs.resolve_sensor_def("raw_tables_observation_sensor")
    started = tick(production, instance, resources, None)
    visit(conn, "t", at(today, 0), views=3)

    result = tick(production, instance, resources, started.cursor)

    # Stamped just now: such a transaction might still be open elsewhere, so not read yet.
    assert observed(instance, "analytics_page_views", today)["dagster/row_count"] == 0
    (now,) = conn.execute("SELECT extract(epoch FROM now())::float").fetchone()
    assert ObservationCursor.load(result.cursor).scanned_until <= now - 120


def test_days_ahead_of_today_and_before_the_first_partition_are_not_observed(
    instance, resources, conn: psycopg.Connection, today: date
) -> None:
    started = tick(sensor, instance, resources, None)
    before = daily_partitions.start.date() - timedelta(3)
    visit(conn, "old", at(before, 12))
    visit(conn, "ahead", at(today + timedelta(1), 0, 5))

    result = tick(sensor, instance, resources, started.cursor)

    assert {event.partition for event in observations(result)} == {today.isoformat()}


def test_a_full_count_and_the_next_window_never_count_a_row_twice(
    conn: psycopg.Connection, today: date
) -> None:
    visit(conn, "t", at(today, 0), views=3, clicks=1)
    (now,) = conn.execute("SELECT now()").fetchone()
    cursor = ObservationCursor()

    # Counted in full up to a moment before those rows were received: none of them yet ...
    early = observe(conn, cursor, now - timedelta(minutes=5), today)
    assert {count.table: count.rows for count in early if count.day == today} == dict.fromkeys(
        RAW, 0
    ) | {"analytics_sessions": 1}  # (sessions are recounted as they are, not by receive time)
    # ... then the window up to now brings each of them once.
    later = observe(conn, cursor, now, today)
    assert {count.table: count.rows for count in later if count.day == today} == {
        "analytics_sessions": 1,
        "analytics_page_views": 3,
        "analytics_clicks": 1,
    }
