"""Asset checks that reconcile every materialized day: each daily table against the raw rows
of that day, the daily tables against each other (docs/contract.md section 5's identities), and session
counters against their event rows.

They are declared on the daily multi-asset and evaluated by its op inside the transaction that
wrote the day, on the same REPEATABLE READ snapshot: a late event committed a moment after the
aggregation can never make a correct day look wrong. Run alone (the UI's "Execute checks"), they
check the tables as they are now. Each evaluation is recorded per day (partition), so a range
run reports every day separately. Every check is blocking and guards retention: raw rows of a
day are dropped only once all checks passed after the last write of any daily table of it.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    PreviewWarning,
    TableColumn,
    TableRecord,
    TableSchema,
)

from clik_pipeline.dagster_internals import AssetCheckEvaluationTargetMaterializationData
from clik_pipeline.partitions import daily_partitions
from clik_pipeline.queries import Queries
from clik_pipeline.tables import CLICK_TARGETS, GROUP_STATS, PAGE_STATS, USER_STATS

queries = Queries(__package__)

# Shown in a failed check's description; the metadata table holds up to MAX_ROWS_SHOWN rows.
MAX_USER_CODES_DESCRIBED = 5
MAX_ROWS_SHOWN = 50

# Raw inputs a check compares against, each collected once per transaction into a temporary
# table (one pass over the raw rows of the range, whichever checks need it).
SESSIONS, PAGE_VIEWS, CLICKS = "sessions", "page_views", "clicks"


@dataclass(frozen=True)
class DailyCheck:
    """One asset check: a query listing the (day, user code, measure) that disagree."""

    name: str
    asset: str
    description: str
    mismatches: str  # query returning (date, user_code, measure, expected, actual, difference)
    raw_inputs: tuple[str, ...] = ()
    reads_raw: bool = True  # False: compares daily tables only, so it works after retention

    @property
    def key(self) -> AssetCheckKey:
        return AssetCheckKey(AssetKey(self.asset), self.name)


CHECKS: tuple[DailyCheck, ...] = (
    DailyCheck(
        "user_stats_match_raw_events",
        USER_STATS,
        "Per user code and day: total_sessions, total_page_views, total_clicks and "
        "unique_share_codes equal what the raw sessions, page views and clicks of that day give.",
        "select_user_stats_mismatches",
        (SESSIONS, PAGE_VIEWS, CLICKS),
    ),
    DailyCheck(
        "user_stats_match_other_daily_tables",
        USER_STATS,
        "Per user code and day: the user stats equal the sums of the group stats (and their "
        "share codes), total_page_views the sum of the page stats' view_count, total_clicks the "
        "sum of the click targets' click_count. Tables not materialized for a day are skipped.",
        "select_daily_identity_mismatches",
        reads_raw=False,
    ),
    DailyCheck(
        "session_counters_match_events",
        USER_STATS,
        "Sessions started that day: their page_views and clicks counters equal the number of "
        "their rows in analytics_page_views and analytics_clicks.",
        "select_session_counter_mismatches",
    ),
    DailyCheck(
        "group_stats_match_raw_events",
        GROUP_STATS,
        "Per user code, share code (missing ones together) and day: the totals equal what the "
        "raw rows with that share code give.",
        "select_group_stats_mismatches",
        (SESSIONS, PAGE_VIEWS, CLICKS),
    ),
    DailyCheck(
        "click_targets_match_raw_clicks",
        CLICK_TARGETS,
        "Per user code, share code, day, click target and category: click_count equals the "
        "number of raw clicks.",
        "select_click_target_mismatches",
        (CLICKS,),
    ),
    DailyCheck(
        "page_stats_match_raw_page_views",
        PAGE_STATS,
        "Per user code, share code, day and page type: view_count equals the number of raw "
        "page views.",
        "select_page_stats_mismatches",
        (PAGE_VIEWS,),
    ),
)

CHECK_KEYS = tuple(check.key for check in CHECKS)

# Parameters of select_daily_identity_mismatches.sql: the days each other table is compared on.
COMPARED_DAYS_PARAMETERS = {
    GROUP_STATS: "group_days",
    PAGE_STATS: "page_days",
    CLICK_TARGETS: "click_days",
}

# Partitioned asset checks are a preview feature of Dagster 1.13 (pinned exactly in
# pyproject.toml, so a patch release cannot change them under us). They are what lets each
# day carry its own check result, which retention relies on.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", PreviewWarning)
    check_specs = [
        AssetCheckSpec(
            check.name,
            asset=check.asset,
            description=check.description,
            blocking=True,
            partitions_def=daily_partitions,
        )
        for check in CHECKS
    ]


@dataclass(frozen=True)
class Mismatch:
    user_code: str
    measure: str
    expected: str
    actual: str
    difference: int


@dataclass
class CheckOutcome:
    """The result of one check for one day."""

    check: DailyCheck
    day: date
    mismatches: list[Mismatch] = field(default_factory=list)
    unverifiable: str | None = None  # why the day cannot be reconciled any more

    @property
    def passed(self) -> bool:
        return self.unverifiable is None and not self.mismatches

    def evaluation(
        self, target: AssetCheckEvaluationTargetMaterializationData | None
    ) -> AssetCheckEvaluation:
        return AssetCheckEvaluation(
            asset_key=self.check.key.asset_key,
            check_name=self.check.name,
            passed=self.passed,
            # A day whose raw rows are gone cannot be reconciled: a warning, not an error.
            severity=AssetCheckSeverity.WARN if self.unverifiable else AssetCheckSeverity.ERROR,
            description=self.describe(),
            metadata=self.metadata(),
            target_materialization_data=target,
            blocking=True,
            partition=self.day.isoformat(),
        )

    def describe(self) -> str:
        if self.unverifiable:
            return self.unverifiable
        if not self.mismatches:
            return f"{self.day}: no differences"
        by_user = self._difference_by_user()
        worst = sorted(by_user, key=lambda code: (-by_user[code], code))
        shown = []
        for code in worst[:MAX_USER_CODES_DESCRIBED]:
            details = "; ".join(
                f"{m.measure}: expected {m.expected}, found {m.actual}"
                for m in self.mismatches
                if m.user_code == code
            )
            shown.append(f"{code} (off by {by_user[code]}: {details})")
        more = len(worst) - len(shown)
        return (
            f"{self.day}: {len(worst)} user code(s) differ, off by "
            f"{sum(by_user.values())} in total: "
            + ", ".join(shown)
            + (f", and {more} more user code(s)" if more else "")
        )

    def metadata(self) -> dict[str, Any]:
        if self.unverifiable:
            return {"unverifiable": True}
        by_user = self._difference_by_user()
        metadata: dict[str, Any] = {
            "mismatched_user_codes": len(by_user),
            "total_difference": sum(by_user.values()),
        }
        if self.mismatches:
            worst = sorted(self.mismatches, key=lambda m: (-m.difference, m.user_code, m.measure))
            metadata["user_codes"] = MetadataValue.text(", ".join(sorted(by_user)))
            metadata["mismatches"] = MetadataValue.table(
                records=[
                    TableRecord(
                        {
                            "user_code": m.user_code,
                            "measure": m.measure,
                            "expected": m.expected,
                            "actual": m.actual,
                            "difference": m.difference,
                        }
                    )
                    for m in worst[:MAX_ROWS_SHOWN]
                ],
                schema=MISMATCH_SCHEMA,
            )
        return metadata

    def _difference_by_user(self) -> dict[str, int]:
        by_user: dict[str, int] = defaultdict(int)
        for mismatch in self.mismatches:
            by_user[mismatch.user_code] += mismatch.difference
        return dict(by_user)


MISMATCH_SCHEMA = TableSchema(
    columns=[
        TableColumn("user_code", "string"),
        TableColumn("measure", "string"),
        TableColumn("expected", "string", "from the raw rows (or the other daily table)"),
        TableColumn("actual", "string", "in the checked table"),
        TableColumn("difference", "int"),
    ]
)


def evaluate_checks(
    conn: psycopg.Connection,
    checks: Sequence[DailyCheck],
    start: date,
    stop: date,
    compared_days: Mapping[str, Iterable[date]],
    emptied_days: Iterable[date] = (),
    retention_horizon: date | None = None,
) -> list[CheckOutcome]:
    """Runs `checks` for the days [start, stop) inside the caller's transaction.

    `compared_days` names, per daily table, the days it holds a materialization of (the
    identity check compares only those). `emptied_days` have no raw rows left after retention
    (before `retention_horizon`): checks that read raw rows report them as unverifiable.
    """
    days = [date.fromordinal(n) for n in range(start.toordinal(), stop.toordinal())]
    if not checks or not days:
        return []
    emptied = set(emptied_days)
    params: dict[str, object] = {"start_day": start, "end_day": stop}
    for table, param in COMPARED_DAYS_PARAMETERS.items():
        params[param] = sorted(compared_days.get(table, ()))
    collected: set[str] = set()
    outcomes = []
    for check in checks:
        for raw_input in check.raw_inputs:
            if raw_input not in collected:
                queries.run(conn, f"collect_expected_{raw_input}", params)
                collected.add(raw_input)
        found: dict[date, list[Mismatch]] = defaultdict(list)
        for row in _mismatches(conn, check, params):
            found[row[0]].append(Mismatch(*row[1:]))
        for day in days:
            if check.reads_raw and day in emptied:
                outcomes.append(
                    CheckOutcome(
                        check,
                        day,
                        unverifiable=f"{day}: raw events before {retention_horizon} were removed "
                        "by retention, so this day can no longer be reconciled with them "
                        "(its aggregates are kept as they are)",
                    )
                )
            else:
                outcomes.append(CheckOutcome(check, day, found.get(day, [])))
    return outcomes


def _mismatches(
    conn: psycopg.Connection, check: DailyCheck, params: dict[str, object]
) -> list[tuple]:
    if check.mismatches == "select_session_counter_mismatches":
        events_end = queries.scalar(conn, "select_day_sessions_end", params)
        if events_end is None:
            return []  # no session started in the range
        params = {**params, "events_end": events_end}
    return queries.run(conn, check.mismatches, params).fetchall()
