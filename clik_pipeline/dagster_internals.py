"""The few names clik needs that Dagster 1.13 does not export publicly, in one place, each
with why. Dagster is pinned exactly (pyproject.toml), so these cannot move under us unseen; a
Dagster upgrade checks this module first."""

# The run tags that say which partitions a run covers. A sensor that requests a partition
# range as one run (BackfillPolicy.single_run) must set the range tags itself, and the
# late-data sensor reads them to tell which days a queued or running run will cover.
# A check evaluated inside the op that wrote the day names the materialization it verified,
# so the UI shows whether the check result is current; AssetCheckEvaluation takes this type.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

# Retention drops a day only when every check's latest execution for it succeeded: the status
# of an execution record is this enum.
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

# The ticks of a cron string in a time zone, as the scheduler computes them (the schedule tests
# compare against it rather than against a second cron implementation).
from dagster._utils.schedules import cron_string_iterator

__all__ = [
    "ASSET_PARTITION_RANGE_END_TAG",
    "ASSET_PARTITION_RANGE_START_TAG",
    "PARTITION_NAME_TAG",
    "AssetCheckEvaluationTargetMaterializationData",
    "AssetCheckExecutionRecordStatus",
    "cron_string_iterator",
]
