"""Fixtures of the pipeline tests: the real Dagster definitions against a fresh migrated
database, on a Dagster instance kept for the whole test (runs, materializations, checks)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import dagster as dg
import pytest

from clik_pipeline.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from clik_pipeline.defs.daily.assets import daily_tables
from clik_pipeline.resources import ClikDatabase


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """An in-memory instance: it keeps runs, materializations and check results for the whole
    test, several times faster than one stored on disk."""
    with dg.DagsterInstance.ephemeral() as test_instance:
        yield test_instance


@pytest.fixture
def resources(database_url: str) -> dict[str, object]:
    return {"database": ClikDatabase(database_url=database_url)}


class Pipeline:
    """Runs the daily multi-asset the way the jobs do, against the test database."""

    def __init__(self, instance: dg.DagsterInstance, resources: dict[str, object]) -> None:
        self.instance = instance
        self.resources = resources

    def materialize(
        self,
        first: date,
        last: date | None = None,
        *,
        selection: dg.AssetSelection | None = None,
        raise_on_error: bool = True,
    ) -> dg.ExecuteInProcessResult:
        """One run over first..last (inclusive): a single partition or a partition range."""
        if last is None or last == first:
            tags = {"dagster/partition": first.isoformat()}
        else:
            tags = {
                ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
            }
        return dg.materialize(
            [daily_tables],
            instance=self.instance,
            resources=self.resources,
            tags=tags,
            selection=selection,
            raise_on_error=raise_on_error,
        )

    def check(self, day: date, *assets: str) -> dg.ExecuteInProcessResult:
        """Runs the checks of `assets` (all daily tables when none) for one day, alone."""
        selection = dg.AssetSelection.checks_for_assets(*(assets or daily_tables.keys))
        return self.materialize(day, selection=selection, raise_on_error=False)


@pytest.fixture
def pipeline(instance: dg.DagsterInstance, resources: dict[str, object]) -> Pipeline:
    return Pipeline(instance, resources)
