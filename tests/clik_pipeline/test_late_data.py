"""Late events bring their already aggregated days up to date through the sensor, and nothing
else: rows within the safety lag wait, days never aggregated are left to the schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import psycopg
import pytest

from clik_pipeline.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from clik_pipeline.definitions import defs
from clik_pipeline.defs.daily.sensors import LateDataCursor, build_late_events_sensor
from tests.clik_pipeline.conftest import Pipeline
from tests.clik_pipeline.traffic import generate
from tests.factories import insert_page_views, insert_sessions, page_view, session

# The same sensor without the safety lag: a test cannot wait minutes for rows to age.
sensor = build_late_events_sensor(lag=timedelta(0))


@pytest.fixture
def days(conn: psycopg.Connection) -> tuple[date, date]:
    """Two recent days (the ingest service accepts events up to a week old)."""
    (today,) = conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()
    return today - timedelta(3), today - timedelta(2)


def tick(
    definition: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    resources: dict,
    cursor: str | None,
) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    return definition(context)


def page_views_on(conn: psycopg.Connection, day: date) -> int:
    return conn.execute(
        "SELECT coalesce(sum(total_page_views), 0) FROM analytics_daily_user_stats WHERE date = %s",
        [day],
    ).fetchone()[0]


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def test_a_late_event_re_materializes_its_day(
    pipeline: Pipeline, instance, resources, conn: psycopg.Connection, days
) -> None:
    first, day = days
    generate([day], sessions_per_day=10).insert(conn)
    started = tick(sensor, instance, resources, None)  # starts watching from now
    assert not started.run_requests
    pipeline.materialize(day)
    before = page_views_on(conn, day)
    # A phone comes back online: an event of that day arrives after the aggregation.
    insert_sessions(conn, [session("late", at(day, 12))])
    insert_page_views(conn, [page_view("late", at(day, 12))])
    # ... and one for a day nobody aggregated yet: that is the schedule's business.
    insert_sessions(conn, [session("early", at(first, 12))])

    requested = tick(sensor, instance, resources, started.cursor)

    (request,) = requested.run_requests
    assert request.partition_key == day.isoformat()
    assert request.job_name in (None, "daily_aggregation_job")
    assert list(LateDataCursor.load(requested.cursor).pending) == [day]
    # Until that run has done its work, further ticks do not ask again.
    waiting = tick(sensor, instance, resources, requested.cursor)
    assert not waiting.run_requests

    pipeline.materialize(day)  # the requested run
    assert page_views_on(conn, day) == before + 1
    settled = tick(sensor, instance, resources, waiting.cursor)
    assert not settled.run_requests
    assert LateDataCursor.load(settled.cursor).pending == {}


def test_a_session_moved_to_an_earlier_day_re_materializes_both_days(
    pipeline: Pipeline, instance, resources, conn: psycopg.Connection, days
) -> None:
    first, second = days
    insert_sessions(conn, [session("s", at(second, 9), user_code="u9")])
    insert_page_views(conn, [page_view("s", at(second, 9), user_code="u9")])
    started = tick(sensor, instance, resources, None)
    pipeline.materialize(first, second)
    # An event of the session from the day before arrives late: the session now starts there.
    insert_page_views(conn, [page_view("s", at(first, 23), user_code="u9")])

    (request,) = tick(sensor, instance, resources, started.cursor).run_requests

    assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == first.isoformat()
    assert request.tags[ASSET_PARTITION_RANGE_END_TAG] == second.isoformat()
    pipeline.materialize(first, second)
    sessions = dict(
        conn.execute(
            "SELECT date, total_sessions FROM analytics_daily_user_stats WHERE user_code = 'u9'"
        ).fetchall()
    )
    assert sessions == {first: 1, second: 0}  # its page view still counts on `second`


def test_rows_younger_than_the_safety_lag_wait(
    pipeline: Pipeline, instance, resources, conn: psycopg.Connection, days
) -> None:
    day = days[1]
    production = defs.resolve_sensor_def("late_events_sensor")
    started = tick(production, instance, resources, None)
    pipeline.materialize(day)
    insert_sessions(conn, [session("late", at(day, 12))])

    result = tick(production, instance, resources, started.cursor)

    # A transaction stamped just now might still be uncommitted elsewhere: not read yet.
    assert not result.run_requests
    (now,) = conn.execute("SELECT extract(epoch FROM now())::float").fetchone()
    assert LateDataCursor.load(result.cursor).scanned_until <= now - 120


def test_a_day_being_aggregated_waits_for_that_run(
    pipeline: Pipeline, instance, resources, conn: psycopg.Connection, days
) -> None:
    first, second = days
    insert_sessions(conn, [session("s", at(second, 9))])
    started = tick(sensor, instance, resources, None)
    pipeline.materialize(second)
    insert_page_views(conn, [page_view("s", at(second, 10))])
    # A backfill over both days is under way: its snapshot may or may not hold the new row.
    backfill = dg.DagsterRun(
        job_name="daily_aggregation_job",
        status=dg.DagsterRunStatus.STARTED,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: second.isoformat(),
        },
    )
    instance.add_run(backfill)

    waiting = tick(sensor, instance, resources, started.cursor)
    assert not waiting.run_requests
    assert list(LateDataCursor.load(waiting.cursor).pending) == [second]

    instance.report_run_failed(backfill)  # it ends without covering the day
    (request,) = tick(sensor, instance, resources, waiting.cursor).run_requests
    assert request.partition_key == second.isoformat()
