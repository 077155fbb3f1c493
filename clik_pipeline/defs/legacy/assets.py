"""The old system's table and its migration (group `legacy`).

`analytics_events` (one JSONB row per event) is an external asset: the old system wrote it.
Materializing `analytics_events_archive` runs the migration: every legacy row is moved, chunk
by chunk, into the normalized tables and the archive (defs/legacy/migration.py). The
check `legacy_rows_reconciled` compares counts: archived + remaining rows = the rows there were
when the migration started, and every migrated event is in the new tables.
"""

from datetime import date
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from pydantic import Field

from clik_pipeline.defs.legacy.migration import (
    DEFAULT_CHUNK_SIZE,
    Chunk,
    MigrationRun,
    migrate,
    reconcile,
)
from clik_pipeline.defs.retention.guard import retention_horizon
from clik_pipeline.partitions import daily_partitions
from clik_pipeline.resources import ClikDatabase
from clik_pipeline.tables import LEGACY_ARCHIVE, LEGACY_EVENTS, table_metadata

LEGACY_GROUP = "legacy"
ARCHIVE = LEGACY_ARCHIVE
EPOCH = date(2000, 1, 1)  # earlier event times are refused by the mapping


analytics_events = AssetSpec(
    LEGACY_EVENTS,
    group_name=LEGACY_GROUP,
    description="The old system's events, one JSONB row each; emptied by "
    "legacy_events_migration_job. Accepted format: README, 'Migrating from the old "
    "analytics_events table'.",
    kinds={"postgres"},
    metadata=table_metadata(
        LEGACY_EVENTS,
        ("id", "uuid", "becomes the page view's or click's id"),
        ("event_type", "text", "view / click / session (and variants)"),
        ("event_data", "jsonb", "userCode, sessionId, shareCode, pageType, clickTarget, ..."),
        ("created_at", "timestamptz", "event time unless event_data holds one"),
    ),
)


class LegacyMigrationConfig(Config):
    chunk_size: int = Field(
        default=DEFAULT_CHUNK_SIZE,
        ge=1,
        le=1_000_000,
        description="legacy rows moved per transaction",
    )
    max_chunks: int | None = Field(
        default=None,
        ge=1,
        description="stop after this many chunks (the next run continues); unset: move all",
    )


@asset(
    name=ARCHIVE,
    group_name=LEGACY_GROUP,
    deps=[analytics_events],
    kinds={"postgres"},
    description="Every legacy row once migrated, with where it went (migrated_to) or why it "
    "could not be mapped (migration_error). Materializing it moves the rows left in "
    "analytics_events into the normalized tables, resumably.",
    metadata=table_metadata(
        ARCHIVE,
        ("id", "uuid", "the legacy row's id"),
        ("event_type", "text", "as it was"),
        ("event_data", "jsonb", "as it was"),
        ("created_at", "timestamptz", "as it was"),
        ("archived_at", "timestamptz", "when it was moved"),
        ("migration_error", "text", "why it could not be mapped (NULL: migrated)"),
        ("migrated_to", "text", "analytics_page_views, analytics_clicks or analytics_sessions"),
        ("event_time", "timestamptz", "the event time it was given"),
        ("session_id", "text", "the session it was given"),
    ),
)
def analytics_events_archive(
    context: AssetExecutionContext, config: LegacyMigrationConfig, database: ClikDatabase
) -> MaterializeResult:
    def progress(chunk: Chunk, run: MigrationRun) -> None:
        context.log.info(
            f"chunk {run.chunks}: {chunk.taken} rows ({chunk.page_views} page views, "
            f"{chunk.clicks} clicks, {chunk.sessions} sessions, {chunk.unmapped} unmapped); "
            f"{run.taken} moved so far"
        )

    with database.connect("legacy_migrator") as conn:
        run = migrate(
            conn,
            chunk_size=config.chunk_size,
            max_chunks=config.max_chunks,
            earliest_partition=daily_partitions.start.date(),
            on_chunk=progress,
        )
    context.log.info(
        f"moved {run.taken} legacy rows in {run.chunks} chunks ({run.seconds:.1f} s); "
        f"{run.remaining} left"
    )
    return MaterializeResult(metadata=run_metadata(run))


def run_metadata(run: MigrationRun) -> dict[str, Any]:
    """What the UI shows for a migration run; `first_day`/`last_day` also tell the
    aggregation sensor which days to aggregate."""
    metadata: dict[str, Any] = {
        "rows_moved": run.taken,
        "page_views": run.page_views,
        "clicks": run.clicks,
        "session_rows": run.sessions,
        "already_present": MetadataValue.int(run.already_present),
        "unmapped": run.unmapped,
        "unmapped_by_reason": MetadataValue.json(dict(run.unmapped_by_reason.most_common(20))),
        "remaining": run.remaining,
        "complete": run.remaining == 0,
        "chunks": run.chunks,
        "partitions_created": run.partitions_created,
        "duration_seconds": round(run.seconds, 3),
        "rows_per_second": round(run.taken / run.seconds) if run.seconds else 0,
    }
    if run.first_day is not None and run.last_day is not None:
        metadata["first_day"] = run.first_day.isoformat()
        metadata["last_day"] = run.last_day.isoformat()
        metadata["aggregate_with"] = MetadataValue.md(
            "`dagster asset materialize -m clik_pipeline.definitions --select 'group:daily' "
            f"--partition-range {run.first_day}...{run.last_day}` "
            "(legacy_days_aggregation_sensor requests it by itself when the daemon runs)"
        )
    return metadata


@asset_check(
    asset=ARCHIVE,
    name="legacy_rows_reconciled",
    description="Archived + remaining legacy rows equal the rows there were when the migration "
    "started, and every migrated event (on days retention has not dropped) is in the new tables.",
)
def legacy_rows_reconciled(
    context: AssetCheckExecutionContext, database: ClikDatabase
) -> AssetCheckResult:
    with database.connect() as conn:
        horizon = retention_horizon(conn) or EPOCH
        counted = reconcile(conn, horizon)
    metadata: dict[str, Any] = {
        "original_rows": MetadataValue.int(counted.original_rows or 0),
        "archived_rows": counted.archived_rows,
        "remaining_rows": counted.remaining_rows,
        "unmapped_rows": counted.unmapped_rows,
        "unmapped_by_reason": MetadataValue.json(counted.unmapped_by_reason),
        "migrated_page_views": counted.page_views,
        "migrated_clicks": counted.clicks,
        "migrated_session_rows": counted.sessions,
        "missing_page_views": counted.missing_page_views,
        "missing_clicks": counted.missing_clicks,
        "missing_sessions": counted.missing_sessions,
        "looked_up_from": horizon.isoformat(),
    }
    if counted.original_rows is None:
        return AssetCheckResult(
            passed=True,
            metadata=metadata,
            description="the migration has not run yet: nothing to reconcile",
        )
    problems = counted.problems
    if problems:
        context.log.error("; ".join(problems))
    return AssetCheckResult(
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata=metadata,
        description="; ".join(problems)
        or f"{counted.archived_rows} archived + {counted.remaining_rows} remaining = "
        f"{counted.original_rows} legacy rows; every migrated event found",
    )
