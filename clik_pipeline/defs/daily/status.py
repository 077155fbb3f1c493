"""What the Dagster instance knows about each day: which daily tables are materialized for it,
and whether every check passed after the last write of any of them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    EventLogRecord,
    RunsFilter,
)

from clik_pipeline.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    AssetCheckEvaluationTargetMaterializationData,
    AssetCheckExecutionRecordStatus,
)
from clik_pipeline.defs.daily.checks import CHECK_KEYS
from clik_pipeline.tables import DAILY_TABLE_NAMES

UNFINISHED_RUN_STATUSES = {
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
}


def latest_materialization_ids(
    instance: DagsterInstance, table: str, days: Iterable[date]
) -> dict[date, int]:
    """Storage id of the latest materialization of each of `days` that has one."""
    ids = instance.get_latest_storage_id_by_partition(
        AssetKey(table),
        DagsterEventType.ASSET_MATERIALIZATION,
        partitions={day.isoformat() for day in days},
    )
    return {date.fromisoformat(key): storage_id for key, storage_id in ids.items()}


def latest_materializations(
    instance: DagsterInstance, table: str, days: Iterable[date]
) -> dict[date, EventLogRecord]:
    """The latest materialization record of each of `days` that has one."""
    ids = latest_materialization_ids(instance, table, days)
    if not ids:
        return {}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(table), storage_ids=list(ids.values())),
        limit=len(ids),
    ).records
    return {
        date.fromisoformat(record.partition_key): record
        for record in records
        if record.partition_key is not None
    }


def check_target(
    record: EventLogRecord | None,
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The materialization a check evaluation refers to (the UI shows whether it is current)."""
    if record is None:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


def unverified_days(instance: DagsterInstance, days: list[date]) -> dict[date, str]:
    """The days of `days` that retention must not drop, each with the reason: a day is verified
    when all four daily tables are materialized for it and every check's latest evaluation for
    it passed after the latest of those materializations."""
    if not days:
        return {}
    reasons: dict[date, list[str]] = {day: [] for day in days}
    latest_write: dict[date, int] = {}
    missing: dict[date, list[str]] = {day: [] for day in days}
    for table in DAILY_TABLE_NAMES:
        ids = latest_materialization_ids(instance, table, days)
        for day in days:
            if day in ids:
                latest_write[day] = max(latest_write.get(day, 0), ids[day])
            else:
                missing[day].append(table)
    infos = instance.event_log_storage.get_asset_check_partition_info(
        list(CHECK_KEYS), partition_keys=[day.isoformat() for day in days]
    )
    evaluated = {
        (info.check_key, date.fromisoformat(info.partition_key)): info
        for info in infos
        if info.partition_key is not None
    }
    for day in days:
        if len(missing[day]) == len(DAILY_TABLE_NAMES):
            reasons[day].append("not materialized")
            continue
        if missing[day]:
            reasons[day].append(f"{', '.join(missing[day])} not materialized")
        problems: dict[str, list[str]] = {}
        for check_key in CHECK_KEYS:
            info = evaluated.get((check_key, day))
            if info is None:
                problem = "never ran"
            elif info.latest_execution_status != AssetCheckExecutionRecordStatus.SUCCEEDED:
                problem = info.latest_execution_status.value.lower()
            elif info.latest_check_event_storage_id < latest_write.get(day, 0):
                problem = "did not run since the last write"
            else:
                continue
            problems.setdefault(problem, []).append(check_key.name)
        for problem, names in problems.items():
            reasons[day].append(f"check {', '.join(names)} {problem}")
    return {day: "; ".join(found) for day, found in reasons.items() if found}


def partitions_under_way(instance: DagsterInstance) -> list[tuple[date, date]]:
    """The day ranges (inclusive) of runs queued or in progress: their own tags say which
    partitions they cover, a single one or a range."""
    ranges = []
    for run in instance.get_runs(RunsFilter(statuses=list(UNFINISHED_RUN_STATUSES))):
        tags = run.tags
        first = tags.get(ASSET_PARTITION_RANGE_START_TAG) or tags.get(PARTITION_NAME_TAG)
        last = tags.get(ASSET_PARTITION_RANGE_END_TAG) or tags.get(PARTITION_NAME_TAG)
        if not first or not last:
            continue  # not a partitioned run
        try:
            ranges.append((date.fromisoformat(first), date.fromisoformat(last)))
        except ValueError:
            continue  # partitions of another kind
    return ranges


def snapshot_at(record: EventLogRecord) -> float:
    """When the snapshot of the transaction that wrote a materialization was taken (epoch);
    0 when it does not say (materializations older than this metadata)."""
    materialization = record.asset_materialization
    value = materialization.metadata.get("snapshot_at") if materialization else None
    return float(value.value) if value is not None and isinstance(value.value, float) else 0.0
