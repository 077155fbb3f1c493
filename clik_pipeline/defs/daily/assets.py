"""The four daily aggregate tables: one multi-asset partitioned by UTC day.

One op writes all four, so a day of the four tables is replaced in one transaction on one
snapshot of the raw tables: the contract's identities between them hold at every commit, and readers
never see a half-replaced day. Each table stays its own asset (selectable alone, e.g.
`--select analytics_daily_user_stats`), and a partition range is one run (BackfillPolicy
single_run) that makes one pass per chunk of days over the raw rows.
"""

from collections.abc import Iterator
from datetime import date

from dagster import (
    AssetCheckEvaluation,
    AssetExecutionContext,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    Output,
    TableColumn,
    TableRecord,
    TableSchema,
    multi_asset,
)

from clik_pipeline.defs.daily.aggregation import ChunkResult, ensure_partitions, process_chunk
from clik_pipeline.defs.daily.checks import CHECKS, check_specs
from clik_pipeline.defs.daily.freshness import today_freshness
from clik_pipeline.defs.daily.status import (
    check_target,
    latest_materialization_ids,
    latest_materializations,
)
from clik_pipeline.defs.raw.partitions import ensure_upcoming_raw_partitions
from clik_pipeline.partitions import MAX_DAYS_PER_TRANSACTION, chunks, daily_partitions, days
from clik_pipeline.resources import ClikDatabase
from clik_pipeline.tables import (
    CLICK_TARGETS,
    CLICKS,
    DAILY_TABLE_NAMES,
    GROUP_STATS,
    PAGE_STATS,
    PAGE_VIEWS,
    SESSIONS,
    USER_STATS,
    table_schema,
)

DAILY_GROUP = "daily"
UPCOMING_PARTITION_DAYS = 14


KEY_COLUMNS = (
    ("id", "bigint", "surrogate key"),
    ("user_code", "text", "whose page"),
)
SHARE_CODE = ("share_code", "text", "the rows' own share code; NULL groups rows without one")
DATE = ("date", "date", "UTC calendar day (the partition)")
COMPUTED_AT = ("computed_at", "timestamptz", "when the day was last aggregated")

daily_table_specs = [
    AssetSpec(
        USER_STATS,
        description="Sessions (by first_seen day), page views, clicks and the sorted distinct "
        "share codes per user code and UTC day.",
        deps=[SESSIONS, PAGE_VIEWS, CLICKS],
        metadata={
            "dagster/column_schema": table_schema(
                *KEY_COLUMNS,
                DATE,
                ("total_sessions", "integer", "sessions that started that day"),
                ("total_page_views", "integer", "page views that day"),
                ("total_clicks", "integer", "clicks that day"),
                ("unique_share_codes", "text[]", "sorted distinct non-null share codes that day"),
                COMPUTED_AT,
            )
        },
    ),
    AssetSpec(
        GROUP_STATS,
        description="The user stats split by the rows' own share code (missing share codes "
        "form one group).",
        deps=[SESSIONS, PAGE_VIEWS, CLICKS],
        metadata={
            "dagster/column_schema": table_schema(
                *KEY_COLUMNS,
                SHARE_CODE,
                DATE,
                ("total_sessions", "integer", "sessions with that share code started that day"),
                ("total_page_views", "integer", "page views with that share code that day"),
                ("total_clicks", "integer", "clicks with that share code that day"),
                COMPUTED_AT,
            )
        },
    ),
    AssetSpec(
        CLICK_TARGETS,
        description="Clicks per user code, share code, UTC day, click target and category.",
        deps=[CLICKS],
        metadata={
            "dagster/column_schema": table_schema(
                *KEY_COLUMNS,
                SHARE_CODE,
                DATE,
                ("click_target", "text", "phone, email, whatsapp, or a data-clik-click name"),
                ("click_category", "text", "NULL groups clicks without a category"),
                ("click_count", "integer", "clicks"),
                COMPUTED_AT,
            )
        },
    ),
    AssetSpec(
        PAGE_STATS,
        description="Page views per user code, share code, UTC day and page type.",
        deps=[PAGE_VIEWS],
        metadata={
            "dagster/column_schema": table_schema(
                *KEY_COLUMNS,
                SHARE_CODE,
                DATE,
                ("page_type", "text", "home, contact, portfolio, ..."),
                ("view_count", "integer", "page views"),
                COMPUTED_AT,
            )
        },
    ),
]
daily_table_specs = [
    spec.replace_attributes(
        group_name=DAILY_GROUP,
        kinds={"postgres"},
        metadata={**spec.metadata, "dagster/table_name": spec.key.path[-1]},
        freshness_policy=today_freshness,
    )
    for spec in daily_table_specs
]


@multi_asset(
    name="daily_tables",
    specs=daily_table_specs,
    check_specs=check_specs,
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    can_subset=True,
    description="Replaces a range of days of the selected daily tables and checks them.",
)
def daily_tables(
    context: AssetExecutionContext, database: ClikDatabase
) -> Iterator[MaterializeResult | AssetCheckEvaluation | Output]:
    window = context.partition_time_window
    first_day, end_day = window.start.date(), window.end.date()
    tables = [
        spec.key.path[-1] for spec in daily_table_specs if spec.key in context.selected_asset_keys
    ]
    checks = [check for check in CHECKS if check.key in context.selected_asset_check_keys]
    run_days = days(first_day, end_day)
    materialized_before = {
        table: set(latest_materialization_ids(context.instance, table, run_days))
        for table in DAILY_TABLE_NAMES
    }
    outcomes = []
    with database.connect() as conn:
        if tables:
            ensure_upcoming_raw_partitions(conn, UPCOMING_PARTITION_DAYS)
        for start, stop in chunks(first_day, end_day, MAX_DAYS_PER_TRANSACTION):
            if tables:
                ensure_partitions(conn, start, stop)
            result = process_chunk(
                conn, start, stop, tables, checks, materialized_before, database.connect
            )
            _record(context, result, tables)
            outcomes.extend(result.outcomes)

    # The materialization events are stored as these are yielded, before the check evaluations
    # that refer to them.
    for table in tables:
        yield MaterializeResult(asset_key=table)
    targets = {
        table: latest_materializations(context.instance, table, run_days)
        for table in {outcome.check.asset for outcome in outcomes}
    }
    for outcome in outcomes:
        yield outcome.evaluation(check_target(targets[outcome.check.asset].get(outcome.day)))
    # Each check's output carries no value: its per-day evaluations above are the result.
    for check in checks:
        yield Output(
            None, output_name=context.assets_def.get_output_name_for_asset_check_key(check.key)
        )


def _record(context: AssetExecutionContext, result: ChunkResult, tables: list[str]) -> None:
    """Per-day metadata of each table written by this chunk (plotted across partitions): the
    day's figures, the raw rows they come from as the checks counted them (when the run
    evaluated checks that read them), and the chunk's, labelled as the chunk's (every day of
    a chunk repeats them: they are not that day's cost)."""
    # The raw counts shown beside each table's aggregates.
    raw_counts_shown = {
        USER_STATS: ("raw_sessions_started", "raw_page_views", "raw_clicks"),
        GROUP_STATS: ("raw_sessions_started", "raw_page_views", "raw_clicks"),
        CLICK_TARGETS: ("raw_clicks",),
        PAGE_STATS: ("raw_page_views",),
    }
    span = f"{result.start}..{date.fromordinal(result.stop.toordinal() - 1)}"
    for warning in result.warnings:
        context.log.warning(f"{span}: {warning}")
    for table in tables:
        context.log.info(
            f"{table} {span}: {result.rows_written[table]} rows written in {result.seconds:.2f} s"
        )
        for day, summary in result.summaries[table].items():
            raw = result.raw_counts.get(day, {}) if not result.kept(day) else {}
            metadata: dict[str, object] = {
                "dagster/row_count": summary.pop("row_count"),
                **summary,
                **{name: raw[name] for name in raw_counts_shown[table] if name in raw},
                "snapshot_at": MetadataValue.timestamp(result.snapshot_at),
                "chunk_first_day": MetadataValue.text(result.start.isoformat()),
                "chunk_days": (result.stop - result.start).days,
                "chunk_duration_seconds": round(result.seconds, 3),
                "preview": _preview(result.previews[table][day]),
            }
            if result.kept(day):
                metadata["kept_as_is"] = MetadataValue.text(
                    f"raw events before {result.retention_horizon} were removed by retention; "
                    "this day's aggregates were kept, not recomputed"
                )
            context.add_asset_metadata(metadata, asset_key=table, partition_key=day.isoformat())


def _preview(rows: list[dict]) -> MetadataValue:
    names = list(rows[0]) if rows else ["user_code"]
    return MetadataValue.table(
        records=[TableRecord({name: _plain(row[name]) for name in names}) for row in rows],
        schema=TableSchema(columns=[TableColumn(name, "string") for name in names]),
    )


def _plain(value: object) -> str | int | float | bool | None:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
