"""raw_tables_observation_sensor: what the raw tables hold per day, in the Dagster UI, and the
daily volume check once a day is complete.

Every few minutes it reports an AssetObservation per raw table for today (row count, latest
received_at) and for each other day that received rows since its last tick, on that day's
partition (the UI plots `dagster/row_count` across partitions beside the daily tables'), then
requests a run of raw_volume_check_job (raw_volume_is_typical) for each day completed since the
last one it asked for. Its cost
per tick follows the rows received since the last tick, not the size of a day: see
observation.py and bench/raw_observation.

The observations and run requests go out in the SensorResult: the daemon records them with the
tick's cursor, so a tick that fails records nothing and the next one does its work again (a run
key per day keeps a day from being judged twice).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from clik_pipeline.defs.raw.assets import RECEIVED_LAG
from clik_pipeline.defs.raw.observation import DayCount, ObservationCursor, observe
from clik_pipeline.defs.raw.volume import (
    VOLUME_CHECK,
    VOLUME_JUDGED_AFTER,
    latest_complete_day,
    raw_volume_check_job,
)
from clik_pipeline.partitions import daily_partitions
from clik_pipeline.queries import shared_queries
from clik_pipeline.resources import ClikDatabase

OBSERVATION_INTERVAL_SECONDS = 300
# A sensor that was stopped judges at most this many missed days when it starts again.
MAX_DAYS_JUDGED_PER_TICK = 7


def build_raw_tables_observation_sensor(
    name: str = "raw_tables_observation_sensor",
    lag: timedelta = RECEIVED_LAG,
    minimum_interval_seconds: int = OBSERVATION_INTERVAL_SECONDS,
) -> SensorDefinition:
    @sensor(
        name=name,
        job=raw_volume_check_job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        description="Observes the raw tables: per UTC day, row count and latest received_at "
        f"(rows received up to {lag} ago), for today and the days that received rows; "
        f"requests {VOLUME_CHECK} of each day {VOLUME_JUDGED_AFTER} after it ends.",
    )
    def _raw_tables_observation_sensor(
        context: SensorEvaluationContext, database: ClikDatabase
    ) -> SensorResult:
        cursor = ObservationCursor.load(context.cursor)
        with database.connect() as conn:
            now: datetime = shared_queries.scalar(conn, "select_now")
            today = now.astimezone(UTC).date()
            counts = observe(conn, cursor, now - lag, today)
        judged = _days_to_judge(cursor, now)
        if judged:
            cursor.judged_through = judged[-1]
            context.log.info(f"{VOLUME_CHECK} requested for {', '.join(map(str, judged))}")
        return SensorResult(
            asset_events=[count.observation() for count in counts],
            run_requests=[
                RunRequest(run_key=f"{VOLUME_CHECK}-{day}", partition_key=day.isoformat())
                for day in judged
            ],
            cursor=cursor.dump(),
            # Dagster takes a skip reason only for a tick without run requests.
            skip_reason=None if judged else _summary(counts, today),
        )

    return _raw_tables_observation_sensor


def _days_to_judge(cursor: ObservationCursor, now: datetime) -> list[date]:
    """The days completed since the last judged one (the latest only, on a first tick), at
    most MAX_DAYS_JUDGED_PER_TICK, each a daily partition."""
    latest = latest_complete_day(now)
    first = cursor.judged_through + timedelta(1) if cursor.judged_through is not None else latest
    first = max(
        first, latest - timedelta(MAX_DAYS_JUDGED_PER_TICK - 1), daily_partitions.start.date()
    )
    return [first + timedelta(n) for n in range((latest - first).days + 1)]


def _summary(counts: list[DayCount], today: date) -> str:
    """The tick's one line: today's counts, other days observed, verdicts."""
    now = {count.table: count.rows for count in counts if count.day == today}
    parts = [
        f"today {today}: "
        + ", ".join(f"{rows:,} {table.removeprefix('analytics_')}" for table, rows in now.items())
    ]
    others = sorted({count.day for count in counts if count.day != today})
    if others:
        parts.append(f"also observed {', '.join(map(str, others))}")
    return "; ".join(parts)


raw_tables_observation_sensor = build_raw_tables_observation_sensor()
