"""raw_volume_is_typical: a day's page views against the same weekday of the weeks before.

Every reconciliation check of the daily tables passes on a day the tracker half stopped
sending: the aggregates match the raw rows, there are just fewer of them. This check compares
the day's page views with the typical day, the median of the same weekday over the previous
HISTORY_WEEKS weeks (business-card traffic has a weekly rhythm, so a Sunday is compared with
Sundays), read from analytics_daily_user_stats, which keeps every day. Below COLLAPSE_BELOW of
typical it warns (severity WARN, not blocking: nothing waits on it), and it names the user codes
that fell silent, those with page views on most of those weekdays and none that day, in its
description and metadata (it names them on a passing day too: one card's tag removed is not a
collapse, but is worth seeing).

Page views, not each raw table: every card's traffic is page views first (4.5 per session),
sessions come with them from the same tracker, and clicks are too sparse per card and day to
call a card silent on.

A day is judged only once complete, VOLUME_JUDGED_AFTER past its end; earlier, and with fewer
than MIN_HISTORY_DAYS weekdays of history, the check passes and says why it did not judge.
raw_tables_observation_sensor evaluates each day once it is complete; the check also runs
from the UI (or a job) for any chosen day.
"""

import math
import statistics
import warnings
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
    MetadataValue,
    PreviewWarning,
    TableColumn,
    TableRecord,
    TableSchema,
    asset_check,
    define_asset_job,
)

from clik_pipeline.defs.retention.guard import retention_horizon
from clik_pipeline.partitions import daily_partitions
from clik_pipeline.queries import Queries, shared_queries
from clik_pipeline.resources import ClikDatabase
from clik_pipeline.tables import PAGE_VIEWS, USER_STATS

queries = Queries(__package__)

VOLUME_CHECK = "raw_volume_is_typical"
HISTORY_WEEKS = 4
MIN_HISTORY_DAYS = 3  # of the HISTORY_WEEKS same weekdays, with rows in the daily table
COLLAPSE_BELOW = 0.5  # of the typical day's page views
SILENT_SHARE = 0.75  # "most" of the history days: 3 of 4, 3 of 3
VOLUME_JUDGED_AFTER = timedelta(minutes=30)  # past midnight UTC: the day's stragglers are in
MAX_CODES_DESCRIBED = 10
MAX_CODES_SHOWN = 100


@dataclass(frozen=True)
class SilentUserCode:
    user_code: str
    active_days: int
    typical_page_views: float


@dataclass
class VolumeVerdict:
    day: date
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> AssetCheckSeverity:
        return AssetCheckSeverity.WARN

    def evaluation(self) -> AssetCheckEvaluation:
        """As reported by the sensor, with no run."""
        return AssetCheckEvaluation(
            asset_key=AssetKey(PAGE_VIEWS),
            check_name=VOLUME_CHECK,
            passed=self.passed,
            severity=self.severity,
            description=self.description,
            metadata=self.metadata,
            blocking=False,
            partition=self.day.isoformat(),
        )

    def result(self) -> AssetCheckResult:
        """As the check's own op returns it."""
        return AssetCheckResult(
            passed=self.passed,
            severity=self.severity,
            description=self.description,
            metadata=self.metadata,
        )


def complete_after(day: date) -> datetime:
    """When `day` is judged: VOLUME_JUDGED_AFTER past its end."""
    return datetime.combine(day + timedelta(1), time(), UTC) + VOLUME_JUDGED_AFTER


def latest_complete_day(now: datetime) -> date:
    return (now.astimezone(UTC) - VOLUME_JUDGED_AFTER).date() - timedelta(1)


def judge_volume(conn: psycopg.Connection, day: date, now: datetime | None = None) -> VolumeVerdict:
    """The check's verdict on `day`, at `now` (default: the database's clock)."""
    if now is None:
        now = shared_queries.scalar(conn, "select_now")
    weekday = f"{day:%A}"
    if now < complete_after(day):
        return VolumeVerdict(
            day,
            True,
            f"Not judged: {day} ({weekday}) is complete at "
            f"{complete_after(day):%Y-%m-%d %H:%M} UTC.",
            {"judged": False},
        )
    history_days = [day - timedelta(weeks=n) for n in range(1, HISTORY_WEEKS + 1)]
    history = {
        row[0]: int(row[1])
        for row in queries.run(conn, "select_daily_page_views", {"days": history_days})
    }
    horizon = retention_horizon(conn)
    from_raw = horizon is None or day >= horizon
    if from_raw:
        page_views = int(queries.scalar(conn, "count_day_page_views", {"day": day}))
    else:  # raw rows dropped by retention: the daily table kept the day
        page_views = sum(
            int(row[1]) for row in queries.run(conn, "select_daily_page_views", {"days": [day]})
        )
    metadata: dict[str, Any] = {
        "judged": True,
        "page_views": page_views,
        "source": "raw page views" if from_raw else f"{USER_STATS} (raw rows dropped)",
        "history": MetadataValue.json({d.isoformat(): history.get(d) for d in history_days}),
        "history_days": len(history),
    }
    if len(history) < MIN_HISTORY_DAYS:
        return VolumeVerdict(
            day,
            True,
            f"Not judged: {page_views:,} page views on {day}, but only {len(history)} of the "
            f"{HISTORY_WEEKS} previous {weekday}s have daily stats (at least "
            f"{MIN_HISTORY_DAYS} needed).",
            metadata,
        )

    typical = statistics.median(history.values())
    ratio = page_views / typical if typical else 1.0
    min_active_days = math.ceil(len(history) * SILENT_SHARE)
    silent = [
        SilentUserCode(code, active, float(typical_views))
        for code, active, typical_views in queries.run(
            conn,
            "select_silent_user_codes",
            {
                "day": day,
                "history_days": sorted(history),
                "min_active_days": min_active_days,
                "from_raw": from_raw,
            },
        )
    ]
    passed = not (typical and ratio < COLLAPSE_BELOW)
    metadata |= {
        "typical_page_views": float(typical),
        "ratio_to_typical": round(ratio, 4),
        "collapse_below": COLLAPSE_BELOW,
        "silent_user_codes": len(silent),
        "silent": _silent_table(silent[:MAX_CODES_SHOWN]),
    }
    verdict = (
        f"below {COLLAPSE_BELOW:.0%} of typical: a collapse (is the tracker still sending?)"
        if not passed
        else "within the usual range"
    )
    description = (
        f"{page_views:,} page views on {day}, {ratio:.0%} of the typical {typical:,.0f} "
        f"(median of the {len(history)} previous {weekday}s): {verdict}. "
        + _describe_silent(silent, min_active_days, len(history), weekday)
    )
    return VolumeVerdict(day, passed, description, metadata)


def _describe_silent(
    silent: list[SilentUserCode], min_active_days: int, history_days: int, weekday: str
) -> str:
    if not silent:
        return "No user code fell silent."
    named = ", ".join(code.user_code for code in silent[:MAX_CODES_DESCRIBED])
    more = (
        f" and {len(silent) - MAX_CODES_DESCRIBED} more"
        if len(silent) > MAX_CODES_DESCRIBED
        else ""
    )
    return (
        f"{len(silent)} user code{'s' if len(silent) != 1 else ''} with page views on at least "
        f"{min_active_days} of those {history_days} {weekday}s had none: {named}{more}."
    )


def _silent_table(silent: list[SilentUserCode]) -> MetadataValue:
    return MetadataValue.table(
        records=[
            TableRecord(
                {
                    "user_code": code.user_code,
                    "active_days": code.active_days,
                    "typical_page_views": code.typical_page_views,
                }
            )
            for code in silent
        ],
        schema=TableSchema(
            columns=[
                TableColumn("user_code", "string"),
                TableColumn("active_days", "int", "of the history days, with page views"),
                TableColumn("typical_page_views", "float", "median of those days"),
            ]
        ),
    )


# Partitioned asset checks are a preview feature in Dagster 1.13 (see defs/daily/checks.py):
# this one needs them to judge each day on its own.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", PreviewWarning)

    @asset_check(
        asset=PAGE_VIEWS,
        name=VOLUME_CHECK,
        partitions_def=daily_partitions,
        blocking=False,
        description=f"The day's page views against the median of the same weekday over the "
        f"previous {HISTORY_WEEKS} weeks (analytics_daily_user_stats): warns below "
        f"{COLLAPSE_BELOW:.0%} of it, and names the user codes that had page views on most of "
        f"those days and none that day. Judged once the day is complete "
        f"({VOLUME_JUDGED_AFTER} past midnight UTC), by raw_tables_observation_sensor.",
    )
    def raw_volume_is_typical(
        context: AssetCheckExecutionContext, database: ClikDatabase
    ) -> AssetCheckResult:
        day = date.fromisoformat(context.partition_key)
        with database.connect() as conn:
            return judge_volume(conn, day).result()


# What the sensor requests for each completed day: a run per evaluation. (Not a runless
# evaluation: Dagster keeps one execution per check, run and partition, and every runless one
# has the same empty run id, so a day judged a second time, e.g. after a cursor reset, would
# fail every tick from then on.)
raw_volume_check_job = define_asset_job(
    "raw_volume_check_job",
    selection=AssetSelection.checks(raw_volume_is_typical),
    partitions_def=daily_partitions,
    description=f"Evaluates {VOLUME_CHECK} for one day.",
)
