"""raw_volume_is_typical: a day's page views against the same weekday of the previous weeks.
It warns on a collapse and names the user codes that fell silent, passes a normal day and a
day without enough history (saying so), and never judges a day that is not over."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import psycopg
import pytest

from clik_pipeline.definitions import defs
from clik_pipeline.defs.raw.assets import raw_event_tables
from clik_pipeline.defs.raw.sensors import build_raw_tables_observation_sensor
from clik_pipeline.defs.raw.volume import (
    VOLUME_CHECK,
    judge_volume,
    latest_complete_day,
    raw_volume_is_typical,
)
from tests.factories import insert_page_views, page_view

CHECK_KEY = dg.AssetCheckKey(dg.AssetKey("analytics_page_views"), VOLUME_CHECK)
CODES = ("u1", "u2", "u3", "u4", "u5", "u6")

sensor = build_raw_tables_observation_sensor(lag=timedelta(0))


@pytest.fixture
def now(conn: psycopg.Connection) -> datetime:
    return conn.execute("SELECT now()").fetchone()[0]


@pytest.fixture
def day(now: datetime) -> date:
    """A complete recent day (its raw partition exists)."""
    return now.astimezone(UTC).date() - timedelta(2)


def history(conn: psycopg.Connection, day: date, weeks: range, views: dict[str, int]) -> None:
    """Daily user stats on the same weekday `weeks` weeks before `day`."""
    for week in weeks:
        for code, count in views.items():
            conn.execute(
                "INSERT INTO analytics_daily_user_stats (user_code, date, total_sessions, "
                "total_page_views) VALUES (%s, %s, 1, %s)",
                [code, day - timedelta(weeks=week), count],
            )


def raw_day(conn: psycopg.Connection, day: date, views: dict[str, int]) -> None:
    """Raw page views of `day`, one session per user code."""
    rows = [
        page_view(f"{code}-{day}", datetime.combine(day, time(12), UTC) + timedelta(seconds=n),
                  user_code=code)
        for code, count in views.items()
        for n in range(count)
    ]  # fmt: skip
    for start in range(0, len(rows), 500):
        insert_page_views(conn, rows[start : start + 500])


def test_the_check_is_declared_non_blocking_and_partitioned_by_day() -> None:
    spec = defs.resolve_asset_graph().get_check_spec(CHECK_KEY)
    assert spec.blocking is False
    assert spec.partitions_def == defs.resolve_asset_graph().get(CHECK_KEY.asset_key).partitions_def


def test_a_collapsed_day_warns_and_names_the_user_codes_that_fell_silent(
    conn: psycopg.Connection, day: date
) -> None:
    history(conn, day, range(1, 5), dict.fromkeys(CODES, 100))
    history(conn, day, range(1, 3), {"u7": 50})  # active on 2 of the 4 weekdays: not "most"
    raw_day(conn, day, {"u1": 100, "u2": 100})

    verdict = judge_volume(conn, day)

    assert not verdict.passed
    assert verdict.severity == dg.AssetCheckSeverity.WARN
    assert verdict.metadata["page_views"] == 200
    assert verdict.metadata["typical_page_views"] == 625  # median of 650, 650, 600, 600
    assert verdict.metadata["silent_user_codes"] == 4
    assert [row.data["user_code"] for row in verdict.metadata["silent"].records] == [
        "u3",
        "u4",
        "u5",
        "u6",
    ]
    assert "32% of the typical 625" in verdict.description
    assert "collapse" in verdict.description
    assert "u3, u4, u5, u6" in verdict.description
    assert "u7" not in verdict.description


def test_a_normal_day_passes_and_still_names_a_card_gone_silent(
    conn: psycopg.Connection, day: date
) -> None:
    history(conn, day, range(1, 5), dict.fromkeys(CODES, 100))
    raw_day(conn, day, {"u1": 130, "u2": 90, "u3": 100, "u4": 100, "u5": 100})

    verdict = judge_volume(conn, day)

    assert verdict.passed
    assert verdict.metadata["ratio_to_typical"] == pytest.approx(520 / 600, abs=1e-4)
    assert "within the usual range" in verdict.description
    assert "had none: u6." in verdict.description


def test_too_little_history_passes_and_says_so(conn: psycopg.Connection, day: date) -> None:
    history(conn, day, range(1, 3), dict.fromkeys(CODES, 100))
    raw_day(conn, day, {"u1": 5})

    verdict = judge_volume(conn, day)

    assert verdict.passed
    assert verdict.description.startswith("Not judged")
    assert "only 2 of the 4 previous" in verdict.description
    assert verdict.metadata["history_days"] == 2


def test_a_day_is_not_judged_before_it_is_complete(
    conn: psycopg.Connection, now: datetime, day: date
) -> None:
    today = now.astimezone(UTC).date()
    history(conn, today, range(1, 5), dict.fromkeys(CODES, 100))
    verdict = judge_volume(conn, today)  # nothing yet today: would be a collapse
    assert verdict.passed
    assert verdict.description.startswith("Not judged")
    assert verdict.metadata == {"judged": False}

    history(conn, day, range(1, 5), dict.fromkeys(CODES, 100))
    midnight = datetime.combine(day + timedelta(1), time(), UTC)
    assert judge_volume(conn, day, midnight + timedelta(minutes=10)).metadata["judged"] is False
    late = judge_volume(conn, day, midnight + timedelta(minutes=31))
    assert late.metadata["judged"] is True
    assert not late.passed


def test_the_sensor_requests_each_completed_day_once_and_never_today(
    instance, resources, conn: psycopg.Connection, now: datetime
) -> None:
    judged_day = latest_complete_day(now)
    history(conn, judged_day, range(1, 5), dict.fromkeys(CODES, 100))
    raw_day(conn, judged_day, {"u1": 100})

    first = sensor(dg.build_sensor_context(instance=instance, resources=resources))
    second = sensor(
        dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor)
    )

    # One run of raw_volume_check_job for the day: each evaluation has a run of its own (a
    # second runless evaluation of a day would break the unique index of Dagster's storage).
    (request,) = first.run_requests
    assert request.partition_key == judged_day.isoformat()
    assert request.run_key == f"{VOLUME_CHECK}-{judged_day}"
    assert not second.run_requests
    assert first.skip_reason is None and second.skip_reason is not None

    # The run the daemon starts for it warns about the collapse, and so can a second one.
    job = defs.resolve_job_def("raw_volume_check_job")
    for _ in range(2):
        result = job.execute_in_process(
            instance=instance,
            resources=resources,
            tags={"dagster/partition": request.partition_key},
        )
        (evaluation,) = result.get_asset_check_evaluations()
        assert (evaluation.passed, evaluation.severity) == (False, dg.AssetCheckSeverity.WARN)
    (info,) = instance.event_log_storage.get_asset_check_partition_info(
        [CHECK_KEY], partition_keys=[judged_day.isoformat()]
    )
    assert info.latest_execution_status.value == "FAILED"


def test_the_check_runs_from_dagster_for_a_chosen_day(
    instance, resources, conn: psycopg.Connection, day: date
) -> None:
    history(conn, day, range(1, 5), dict.fromkeys(CODES, 100))
    raw_day(conn, day, dict.fromkeys(CODES[:2], 100))

    result = dg.materialize(
        [*raw_event_tables, raw_volume_is_typical],
        selection=dg.AssetSelection.checks(raw_volume_is_typical),
        tags={"dagster/partition": day.isoformat()},
        instance=instance,
        resources=resources,
    )

    assert result.success  # a warning fails no run
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.partition == day.isoformat()
    assert (evaluation.passed, evaluation.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert evaluation.metadata["silent_user_codes"].value == 4


def test_a_day_whose_raw_rows_retention_dropped_is_judged_from_the_daily_table(
    conn: psycopg.Connection, day: date
) -> None:
    history(conn, day, range(0, 5), dict.fromkeys(CODES, 100))  # week 0: the day itself
    conn.execute(
        "INSERT INTO analytics_raw_retention_runs (horizon, rows_deleted, bytes_freed) "
        "VALUES (%s, 0, 0)",
        [day + timedelta(1)],
    )

    verdict = judge_volume(conn, day)

    assert verdict.passed
    assert verdict.metadata["page_views"] == 600
    assert verdict.metadata["source"].startswith("analytics_daily_user_stats")
