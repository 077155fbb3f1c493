"""Freshness of the daily tables, two promises made visible in the UI:

- Today within the refresh period: a Dagster freshness policy on each daily table (its latest
  materialization, which is today's refresh, warns after one period and fails after two).
- Yesterday final by 03:00 UTC: Dagster's freshness policies judge an asset's latest
  materialization of any partition, so today's refreshes would hide a 02:00 run that never
  happened. The check `yesterday_finalized_by_0300` asks the right question instead: was the
  previous day materialized from a snapshot taken after its finalizing time (02:00 UTC)? A
  schedule evaluates it at 03:00 UTC; it can also be executed from the UI at any time.
"""

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetSelection,
    DagsterInstance,
    DefaultScheduleStatus,
    FreshnessPolicy,
    MetadataValue,
    ScheduleDefinition,
    define_asset_job,
    multi_asset_check,
)

from clik_pipeline.defs.daily.schedules import FINALIZED_AFTER
from clik_pipeline.defs.daily.status import latest_materializations, snapshot_at
from clik_pipeline.defs.daily.today import refresh_period
from clik_pipeline.partitions import daily_partitions
from clik_pipeline.tables import DAILY_TABLE_NAMES

FINALIZATION_DEADLINE = timedelta(hours=3)  # after the end of a day
DEADLINE_CHECK = "yesterday_finalized_by_0300"

today_freshness = FreshnessPolicy.time_window(
    fail_window=2 * refresh_period(), warn_window=refresh_period()
)


def deadline_day(now: datetime) -> date:
    """The latest day whose finalization deadline has passed at `now`."""
    return (now.astimezone(UTC) - FINALIZATION_DEADLINE).date() - timedelta(1)


def finalized_since(day: date) -> datetime:
    """A day's rows are final when computed from a snapshot taken at or after this."""
    return datetime.combine(day + timedelta(1), time(), UTC) + FINALIZED_AFTER


@multi_asset_check(
    specs=[
        AssetCheckSpec(
            DEADLINE_CHECK,
            asset=table,
            blocking=False,
            description="The previous UTC day was finalized (aggregated from a snapshot taken "
            "after 02:00 UTC of the next day) by 03:00 UTC. Evaluated at 03:00 UTC by "
            "finalization_deadline_schedule.",
        )
        for table in DAILY_TABLE_NAMES
    ],
    name="daily_finalization_deadline",
    can_subset=True,  # materializing one daily table from the UI or CLI selects its check only
)
def daily_finalization_deadline(context: AssetCheckExecutionContext) -> Iterator[AssetCheckResult]:
    tables = {key.asset_key.to_user_string() for key in context.selected_asset_check_keys}
    yield from finalization_results(context.instance, tables, datetime.now(UTC))


def finalization_results(
    instance: DagsterInstance, tables: Iterable[str], now: datetime
) -> Iterator[AssetCheckResult]:
    """The deadline check of each of `tables` at `now`."""
    day = deadline_day(now)
    since = finalized_since(day)
    for table in [table for table in DAILY_TABLE_NAMES if table in set(tables)]:
        if not daily_partitions.has_partition_key(day.isoformat()):
            yield _result(table, True, f"{day} has no daily partition", day)
            continue
        record = latest_materializations(instance, table, [day]).get(day)
        if record is None:
            yield _result(table, False, f"{day} was never materialized", day)
            continue
        snapshot = datetime.fromtimestamp(snapshot_at(record), UTC)
        if snapshot >= since:
            yield _result(table, True, f"{day} is final (snapshot {snapshot:%F %T} UTC)", day)
        else:
            yield _result(
                table,
                False,
                f"{day} is still provisional: its latest materialization read the raw rows at "
                f"{snapshot:%F %T} UTC, before {since:%F %H:%M} UTC; the 02:00 UTC run of "
                "daily_aggregation_schedule did not finalize it",
                day,
            )


def _result(table: str, passed: bool, description: str, day: date) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=table,
        check_name=DEADLINE_CHECK,
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description=description,
        metadata={"day": MetadataValue.text(day.isoformat())},
    )


deadline_checks = AssetSelection.checks(daily_finalization_deadline)

finalization_deadline_job = define_asset_job(
    "finalization_deadline_job",
    selection=deadline_checks,
    description="Checks that the previous UTC day was finalized by 03:00 UTC.",
)

finalization_deadline_schedule = ScheduleDefinition(
    name="finalization_deadline_schedule",
    job=finalization_deadline_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every day at 03:00 UTC: reports a previous day the 02:00 run did not finalize.",
)
