"""legacy_events_migration_job in Dagster: the run, its reconciliation check, resuming, and the
sensor that aggregates the migrated days with passing checks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import psycopg
import pytest

from clik_pipeline.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from clik_pipeline.definitions import defs
from clik_pipeline.defs.legacy.sensors import aggregatable_days, legacy_days_aggregation_sensor
from clik_pipeline.tables import LEGACY_ARCHIVE as ARCHIVE
from tests.clik_pipeline.conftest import Pipeline
from tests.clik_pipeline.test_legacy_migration import legacy, visits

START = datetime(2026, 10, 3, 23, 45, tzinfo=UTC)  # runs past midnight


def run_migration(
    instance: dg.DagsterInstance, resources: dict[str, object], **config: int
) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("legacy_events_migration_job")
    run_config = {"ops": {ARCHIVE: {"config": config}}} if config else None
    return job.execute_in_process(
        instance=instance, resources=resources, run_config=run_config, raise_on_error=False
    )


def archive_metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    (materialization,) = result.asset_materializations_for_node(ARCHIVE)
    return {key: value.value for key, value in materialization.metadata.items()}


def check_result(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_the_definitions_carry_the_spec_names() -> None:
    assert defs.resolve_job_def("legacy_events_migration_job") is not None
    assert defs.resolve_sensor_def("legacy_days_aggregation_sensor") is not None
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {"analytics_events", ARCHIVE} <= keys
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert "legacy_rows_reconciled" in checks


def test_a_run_migrates_everything_and_reconciles(
    instance: dg.DagsterInstance, resources: dict[str, object], conn: psycopg.Connection
) -> None:
    total = visits(conn, 400, START)  # 40 minutes over midnight
    legacy(conn, "bogus", {}, START)
    result = run_migration(instance, resources, chunk_size=500)
    assert result.success
    metadata = archive_metadata(result)
    assert metadata["rows_moved"] == total + 1
    assert (metadata["page_views"], metadata["clicks"], metadata["unmapped"]) == (1600, 800, 1)
    assert metadata["unmapped_by_reason"] == {"unknown event_type: bogus": 1}
    assert (metadata["remaining"], metadata["complete"]) == (0, True)
    assert (metadata["first_day"], metadata["last_day"]) == ("2026-10-03", "2026-10-04")
    evaluation = check_result(result)
    assert evaluation.passed, evaluation.description
    assert evaluation.metadata["archived_rows"].value == total + 1


def test_a_stopped_run_is_resumed_by_the_next(
    instance: dg.DagsterInstance, resources: dict[str, object], conn: psycopg.Connection
) -> None:
    total = visits(conn, 100, START)
    first = run_migration(instance, resources, chunk_size=100, max_chunks=2)
    assert archive_metadata(first)["remaining"] == total - 200
    assert check_result(first).passed  # counts reconcile at every stop
    second = run_migration(instance, resources, chunk_size=100)
    assert archive_metadata(second)["rows_moved"] == total - 200
    assert check_result(second).passed
    assert conn.execute("SELECT count(*) FROM analytics_events_archive").fetchone() == (total,)


def test_the_check_fails_and_says_why_when_rows_go_missing(
    instance: dg.DagsterInstance, resources: dict[str, object], conn: psycopg.Connection
) -> None:
    visits(conn, 10, START)
    run_migration(instance, resources)
    conn.execute(
        "DELETE FROM analytics_clicks WHERE id IN (SELECT id FROM analytics_clicks LIMIT 3)"
    )
    result = run_migration(instance, resources)  # nothing left to move; the check runs again
    evaluation = check_result(result)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "3 migrated rows have no click in analytics_clicks" in evaluation.description


def test_the_migrated_days_are_aggregated_with_passing_checks(
    instance: dg.DagsterInstance,
    resources: dict[str, object],
    conn: psycopg.Connection,
    pipeline: Pipeline,
) -> None:
    visits(conn, 400, START)
    assert run_migration(instance, resources).success

    tick = legacy_days_aggregation_sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance, resources=resources)
    )
    (request,) = tick.run_requests
    assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == "2026-10-03"
    assert request.tags[ASSET_PARTITION_RANGE_END_TAG] == "2026-10-04"
    # Each materialization is requested once.
    again = legacy_days_aggregation_sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance, resources=resources, cursor=tick.cursor)
    )
    assert again.run_requests == []

    result = pipeline.materialize(date(2026, 10, 3), date(2026, 10, 4))
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(evaluation.passed for evaluation in evaluations)
    totals = conn.execute(
        "SELECT sum(total_sessions), sum(total_page_views), sum(total_clicks) "
        "FROM analytics_daily_user_stats"
    ).fetchone()
    assert totals == (400, 1600, 800)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (date(2026, 10, 3), date(2026, 10, 4), (date(2026, 10, 3), date(2026, 10, 4))),
        (date(2020, 1, 1), date(2025, 1, 2), (date(2025, 1, 1), date(2025, 1, 2))),
        (date(2020, 1, 1), date(2020, 1, 2), None),
        (date(2999, 1, 1), date(2999, 1, 2), None),
    ],
)
def test_only_days_with_a_partition_are_requested(
    first: date, last: date, expected: tuple[date, date] | None
) -> None:
    assert aggregatable_days(first, last) == expected
