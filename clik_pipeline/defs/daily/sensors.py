"""Late data: events that arrive for a day already aggregated (the tracker retries, phones come
back online) bring that day's partitions up to date within a few minutes, nobody acting.

A sensor rather than automation conditions: the raw tables are external assets written by the
ingest service, so Dagster learns of new rows only by looking. This sensor looks at exactly what
matters, the rows received since its last tick (received_at, BRIN indexed), and requests the
days they belong to.

Exactness, with concurrent ingest:
- An ingest transaction stamps received_at with its start time but becomes visible only at
  commit. The sensor reads only up to `now() - lag`, so a row stamped before that point has
  committed by the time it is read (ingest batches take milliseconds; `lag` is minutes).
- Each materialization records `snapshot_at`, the time its transaction's snapshot was taken. A
  day is up to date when its latest materialization's snapshot is at least `lag` later than the
  last row received for it. Days stay in the cursor until that holds, so a run that fails or
  was already under way when the rows came is followed by another one.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Self

from dagster import (
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from clik_pipeline.defs.daily.jobs import daily_aggregation_job
from clik_pipeline.defs.daily.status import (
    latest_materializations,
    partitions_under_way,
    snapshot_at,
)
from clik_pipeline.defs.raw.assets import RECEIVED_LAG
from clik_pipeline.partitions import contiguous_ranges, daily_partitions, days_run_request
from clik_pipeline.queries import Queries, shared_queries
from clik_pipeline.resources import ClikDatabase
from clik_pipeline.tables import DAILY_TABLE_NAMES

queries = Queries(__package__)

LATE_DATA_INTERVAL_SECONDS = 60
# A requested run that did not bring its day up to date (failed, say) is requested again after
# this long, not on every tick.
RETRY_AFTER = timedelta(minutes=15)


@dataclass
class PendingDay:
    """A day with rows received after its aggregation, until a materialization covers them."""

    last_received: float  # epoch seconds, database clock
    requested_at: float | None = None


@dataclass
class LateDataCursor:
    scanned_until: float | None = None
    pending: dict[date, PendingDay] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> Self:
        if not text:
            return cls()
        state = json.loads(text)
        return cls(
            state["scanned_until"],
            {
                date.fromisoformat(day): PendingDay(**pending)
                for day, pending in state["pending"].items()
            },
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "scanned_until": self.scanned_until,
                "pending": {
                    day.isoformat(): pending.__dict__
                    for day, pending in sorted(self.pending.items())
                },
            }
        )


def build_late_events_sensor(
    name: str = "late_events_sensor",
    lag: timedelta = RECEIVED_LAG,
    minimum_interval_seconds: int = LATE_DATA_INTERVAL_SECONDS,
) -> SensorDefinition:
    @sensor(
        name=name,
        job=daily_aggregation_job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        description="Re-aggregates days that are already materialized when raw events arrive "
        f"for them later (rows received up to {lag} ago).",
    )
    def _late_events_sensor(
        context: SensorEvaluationContext, database: ClikDatabase
    ) -> SensorResult:
        cursor = LateDataCursor.load(context.cursor)
        with database.connect() as conn:
            now = shared_queries.scalar(conn, "select_now")
            until = (now - lag).timestamp()
            if cursor.scanned_until is None:
                # First tick: what is already stored is the schedule's and backfills' business.
                return SensorResult(
                    skip_reason=f"watching rows received after {_iso(until)}",
                    cursor=LateDataCursor(until).dump(),
                )
            received = queries.run(
                conn,
                "select_days_received_between",
                {"after": _time(cursor.scanned_until), "until": _time(until)},
            ).fetchall()
        for day, last_received in received:
            pending = cursor.pending.setdefault(day, PendingDay(last_received.timestamp()))
            pending.last_received = max(pending.last_received, last_received.timestamp())
        cursor.scanned_until = until

        requested = _days_to_request(context.instance, cursor, now.timestamp(), lag)
        run_requests = [
            _run_request(first, end, now) for first, end in contiguous_ranges(requested)
        ]
        if run_requests:
            context.log.info(f"late rows for {', '.join(map(str, requested))}: re-aggregating")
        return SensorResult(
            run_requests=run_requests,
            cursor=cursor.dump(),
            skip_reason=None if run_requests else _waiting(cursor),
        )

    return _late_events_sensor


def _days_to_request(
    instance: DagsterInstance, cursor: LateDataCursor, now: float, lag: timedelta
) -> list[date]:
    """Settles each pending day: forgets it when it is up to date or never aggregated, waits
    while a run for it is under way, and returns the days to re-aggregate now."""
    for day in [day for day in cursor.pending if not _is_partition(day)]:
        del cursor.pending[day]  # no daily partition: nothing to bring up to date
    today = datetime.fromtimestamp(now, UTC).date()
    # Today is the today-refresh sensor's; its rows wait here in case they reach the day
    # after its last refresh: once it is over, the day is brought up to date like any other.
    candidates = sorted(day for day in cursor.pending if day < today)
    latest = {
        table: latest_materializations(instance, table, candidates) for table in DAILY_TABLE_NAMES
    }
    under_way = partitions_under_way(instance) if candidates else []
    requested = []
    for day in candidates:
        pending = cursor.pending[day]
        if any(first <= day <= last for first, last in under_way):
            continue  # decided once that run is over, against its snapshot
        records = [latest[table][day] for table in DAILY_TABLE_NAMES if day in latest[table]]
        if not records:
            del cursor.pending[day]  # never aggregated: not late data
            continue
        covered_until = min(snapshot_at(record) for record in records) - lag.total_seconds()
        if covered_until >= pending.last_received:
            del cursor.pending[day]
        elif (
            pending.requested_at is None
            or now - pending.requested_at >= RETRY_AFTER.total_seconds()
        ):
            pending.requested_at = now
            requested.append(day)
    return requested


def _is_partition(day: date) -> bool:
    return day >= daily_partitions.start.date() and daily_partitions.has_partition_key(
        day.isoformat()
    )


def _run_request(first: date, end: date, now: datetime) -> RunRequest:
    last = end - timedelta(1)
    return days_run_request(first, last, run_key=f"late-{first}-{last}-{now.isoformat()}")


def _waiting(cursor: LateDataCursor) -> str:
    if cursor.pending:
        return f"waiting for runs of {', '.join(map(str, sorted(cursor.pending)))}"
    return "no late rows"


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _iso(epoch: float) -> str:
    return _time(epoch).isoformat(timespec="seconds")


late_events_sensor = build_late_events_sensor()
