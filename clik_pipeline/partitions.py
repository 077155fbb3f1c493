"""Daily partitions: one per UTC calendar day from CLIK_PARTITIONS_START up to today. Today is a
partition too: its rows are refreshed while events arrive and stay provisional until the
02:00 UTC run after it finalizes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from dagster import DailyPartitionsDefinition, RunRequest

from clik.settings import ClikSettings
from clik_pipeline.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

# The partition set is part of the code location's structure, so it is read when the
# definitions load (the webserver, daemon and run workers all see the same environment).
daily_partitions = DailyPartitionsDefinition(
    start_date=ClikSettings().partitions_start.isoformat(), timezone="UTC", end_offset=1
)

# Days per database transaction when a run covers a range: each chunk locks two raw partitions
# per day (and their indexes), and PostgreSQL's shared lock table is sized by
# max_locks_per_transaction (64 by default), so a year in one transaction could exhaust it.
MAX_DAYS_PER_TRANSACTION = 31


def days(first_day: date, end_day: date) -> list[date]:
    """The days of the half-open range [first_day, end_day)."""
    return [first_day + timedelta(n) for n in range((end_day - first_day).days)]


def chunks(
    first_day: date, end_day: date, size: int = MAX_DAYS_PER_TRANSACTION
) -> Iterator[tuple[date, date]]:
    """[first_day, end_day) cut into consecutive half-open ranges of at most `size` days."""
    start = first_day
    while start < end_day:
        stop = min(start + timedelta(size), end_day)
        yield start, stop
        start = stop


def contiguous_ranges(sorted_days: list[date]) -> list[tuple[date, date]]:
    """Sorted distinct days grouped into half-open ranges of consecutive days."""
    ranges: list[tuple[date, date]] = []
    for day in sorted_days:
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + timedelta(1))
        else:
            ranges.append((day, day + timedelta(1)))
    return ranges


def days_run_request(first: date, last: date, run_key: str) -> RunRequest:
    """A run of the days first..last (inclusive): one partition, or one range run (the assets'
    BackfillPolicy.single_run reads a range from these tags)."""
    if first == last:
        return RunRequest(run_key=run_key, partition_key=first.isoformat())
    return RunRequest(
        run_key=run_key,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
        },
    )
