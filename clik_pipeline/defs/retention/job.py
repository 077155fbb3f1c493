"""Raw retention: keep CLIK_RETENTION_DAYS whole days of raw events (and today), drop older
days whole, keep aggregates forever, and never drop a day whose daily partitions are not
materialized with passing checks.

drop_raw_events_before(horizon) keeps the raw store a suffix in time (everything on or after
the horizon), which is what makes its session rule exact. So the horizon stops at the first
expired day that is not verified: that day and every later one are kept, and reported.
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import psycopg
from dagster import (
    AssetObservation,
    Config,
    MetadataValue,
    OpExecutionContext,
    RetryPolicy,
    job,
    op,
)
from pydantic import Field

from clik.settings import ClikSettings
from clik_pipeline.defs.daily.status import unverified_days
from clik_pipeline.defs.retention.guard import has_events, has_raw_events, retention_horizon
from clik_pipeline.partitions import MAX_DAYS_PER_TRANSACTION, daily_partitions, days
from clik_pipeline.queries import Queries, shared_queries
from clik_pipeline.resources import ClikDatabase
from clik_pipeline.tables import RAW_TABLE_NAMES

queries = Queries(__package__)


@dataclass
class RetentionPlan:
    today: date
    cutoff: date  # days before it are past the retention period
    horizon: date  # days before it will be dropped
    refused: dict[date, str]  # expired days with raw rows that are kept, and why
    earliest: date | None  # first day that may still hold anything to drop


@dataclass
class RetentionReport:
    rows_deleted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bytes_freed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    dropped_days: set[date] = field(default_factory=set)
    seconds: float = 0.0


def plan_retention(conn: psycopg.Connection, instance, retention_days: int) -> RetentionPlan:
    """Decides the horizon from the raw rows present and the instance's records."""
    today = shared_queries.scalar(conn, "select_current_utc_date")
    cutoff = today - timedelta(retention_days)
    earliest_raw = queries.scalar(conn, "select_earliest_raw_day")
    earliest_partition = queries.scalar(conn, "select_earliest_raw_partition_day")
    previous = retention_horizon(conn)

    def holds_rows(day: date) -> bool:
        # Before the last horizon, sessions running past it may be left of a dropped day (they
        # go once all their events are gone): such a day was verified when it was dropped.
        # Events there are new (imported legacy events, say) and must be verified again.
        if previous and day < previous:
            return has_events(conn, day)
        return has_raw_events(conn, day)

    expired_with_rows = (
        [day for day in days(earliest_raw, cutoff) if holds_rows(day)] if earliest_raw else []
    )
    refused = unverified_days(instance, expired_with_rows)
    start = daily_partitions.start.date()
    for day in refused:
        if day < start:
            refused[day] = (
                f"before CLIK_PARTITIONS_START ({start}), so it can never be aggregated: "
                "set CLIK_PARTITIONS_START earlier and backfill"
            )
    horizon = min(refused, default=cutoff)
    # Every later expired day stays too, so the raw store remains a suffix in time.
    for day in expired_with_rows:
        if day > horizon and day not in refused:
            refused[day] = f"an earlier day ({horizon}) is kept"
    earliest = min(filter(None, (earliest_raw, earliest_partition)), default=None)
    return RetentionPlan(today, cutoff, horizon, dict(sorted(refused.items())), earliest)


def apply_retention(conn: psycopg.Connection, plan: RetentionPlan) -> RetentionReport:
    """Drops everything before plan.horizon, at most MAX_DAYS_PER_TRANSACTION days of
    partitions per transaction (each drop locks its partitions until commit)."""
    report = RetentionReport()
    began = time.perf_counter()
    step = plan.earliest
    while step is not None and step < plan.horizon:
        step = min(step + timedelta(MAX_DAYS_PER_TRANSACTION), plan.horizon)
        with conn.transaction():
            queries.run(conn, "lock_raw_retention")
            rows = queries.run(conn, "drop_raw_events_before", {"horizon": step}).fetchall()
            deleted = sum(row[2] for row in rows)
            freed = sum(row[3] or 0 for row in rows)
            queries.run(
                conn,
                "insert_raw_retention_run",
                {
                    "horizon": step,
                    "rows_deleted": deleted,
                    "bytes_freed": freed,
                    "refused_days": list(plan.refused),
                },
            )
        for table_name, day, rows_deleted, bytes_freed in rows:
            table = table_name.removesuffix("_default")
            report.rows_deleted[table] += rows_deleted
            report.bytes_freed[table] += bytes_freed or 0
            if day is not None:
                report.dropped_days.add(day)
    report.seconds = time.perf_counter() - began
    return report


class RetentionConfig(Config):
    retention_days: int | None = Field(
        default=None, ge=1, description="days of raw events kept; unset: CLIK_RETENTION_DAYS"
    )


@op(
    description="Drops raw events older than the retention period, except days whose daily "
    "partitions are not materialized with passing checks (those are reported instead).",
    # Dropping a partition gives up after a 10 s lock wait rather than stall ingest.
    retry_policy=RetryPolicy(max_retries=3, delay=60),
)
def drop_expired_raw_events(
    context: OpExecutionContext, config: RetentionConfig, database: ClikDatabase
) -> None:
    retention_days = config.retention_days or ClikSettings().retention_days
    with database.connect() as conn:
        plan = plan_retention(conn, context.instance, retention_days)
        report = apply_retention(conn, plan)

    if plan.refused:
        context.log.warning(
            f"kept {len(plan.refused)} expired day(s) with raw events: "
            + "; ".join(f"{day}: {why}" for day, why in plan.refused.items())
        )
    freed = sum(report.bytes_freed.values())
    context.log.info(
        f"dropped raw events before {plan.horizon}: {sum(report.rows_deleted.values())} rows, "
        f"{freed} bytes freed in {report.seconds:.2f} s"
    )
    for table in RAW_TABLE_NAMES:
        context.log_event(
            AssetObservation(
                asset_key=table,
                metadata={
                    "retention_rows_deleted": report.rows_deleted.get(table, 0),
                    "retention_bytes_freed": MetadataValue.int(report.bytes_freed.get(table, 0)),
                    "retention_horizon": MetadataValue.text(plan.horizon.isoformat()),
                },
            )
        )
    context.add_output_metadata(
        {
            "retention_days": retention_days,
            "cutoff": MetadataValue.text(plan.cutoff.isoformat()),
            "horizon": MetadataValue.text(plan.horizon.isoformat()),
            "days_dropped": len(report.dropped_days),
            "rows_deleted": sum(report.rows_deleted.values()),
            "rows_deleted_by_table": MetadataValue.json(dict(report.rows_deleted)),
            "bytes_freed": freed,
            "space_freed": MetadataValue.text(_size(freed)),
            "refused_days": len(plan.refused),
            "refused": MetadataValue.md(
                "\n".join(f"- {day}: {why}" for day, why in plan.refused.items()) or "none"
            ),
            "duration_seconds": round(report.seconds, 3),
        }
    )


@job(description="Weekly raw retention: drops expired raw days that are aggregated and checked.")
def raw_retention_job() -> None:
    drop_expired_raw_events()


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{size} B"
        value /= 1024
    return f"{size} B"
