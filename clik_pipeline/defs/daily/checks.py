"""Asset checks that reconcile every materialized day: each daily table against the raw rows
of that day, the daily tables against each other (docs/contract.md section 5's identities), and session
counters against their event rows.

What the raw rows give is collected once per transaction by the checks' own queries (never the
refresh functions the aggregates come from): one pass over each day's rows of each raw table
(that day's partition, its bounds constants of the query), grouped per user code and share code,
the grain of the group stats. The user and group stats are compared with those counts exactly.
Finer keys and the session counters are screened by hash-weighted sums from the same pass: per
(user code, share code) the raw rows' summed 32-bit hashes of their page type must equal the
page stats' view_count weighted by the same hash (likewise click target and category); per user
code the summed hashes of the events' session ids must equal the day's sessions' counters
weighted by their session's hash, corrected for sessions that ran past midnight (looked up by
session id). Equal sums clear a day and user code; the check's exact query (row by row, through
the user_code indexes) then compares only the user codes left, and writes the failure's
description. A screen can cost time (a false alarm is cleared exactly) but not hide a
difference, unless differences weighted by the hashes cancel by chance (about 1 in 2^32).
When the run also writes the tables, the per-day passes run on a second connection while the
aggregation writes, on its snapshot, and hand their rows over (raw_passes.py).

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
from datetime import UTC, date, datetime, time, timedelta
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


@dataclass(frozen=True)
class Collection:
    """A temporary table the checks compare (what the raw rows give, or the daily tables rolled
    up), filled once per transaction for whichever checks need it: `create` once, then
    `per_day` for each day of the range (its bounds are constants of the query, so the planner
    sees one partition and the day is not computed per row), and/or `once` for the whole range
    (from the collections it `needs`)."""

    name: str
    create: tuple[str, ...] = ()
    per_day: str | None = None
    once: str | None = None
    needs: tuple[str, ...] = ()
    also_day_before: bool = False  # per_day runs for the day before the range too
    table: str | None = None  # the temporary table a per-day pass fills (see raw_passes.py)


SESSIONS, PAGE_VIEWS, CLICKS = "sessions", "page_views", "clicks"
ACTIVITY, CROSSING, SPILLED = "activity", "crossing_sessions", "spilled_events"
DAILY_SHARES, COMPARED = "daily_shares", "compared_shares"

COLLECTIONS = {
    collection.name: collection
    for collection in (
        Collection(
            SESSIONS,
            ("create_expected_sessions",),
            "collect_expected_sessions",
            table="expected_sessions",
        ),
        Collection(
            PAGE_VIEWS,
            ("create_expected_page_views",),
            "collect_expected_page_views",
            table="expected_page_views",
        ),
        Collection(
            CLICKS, ("create_expected_clicks",), "collect_expected_clicks", table="expected_clicks"
        ),
        # per day, user code and share code, from the three above
        Collection(
            ACTIVITY, once="collect_expected_activity", needs=(SESSIONS, PAGE_VIEWS, CLICKS)
        ),
        # sessions that ran past midnight, and their events on later days
        Collection(
            CROSSING,
            ("create_crossing_sessions",),
            "collect_crossing_sessions",
            also_day_before=True,
            table="crossing_sessions",
        ),
        Collection(SPILLED, once="collect_spilled_events", needs=(CROSSING,)),
        # the daily tables themselves, per day, user code and share code (no raw rows)
        Collection(DAILY_SHARES, once="collect_daily_shares"),
        # both sides, per day, user code and share code
        Collection(COMPARED, once="collect_compared_shares", needs=(ACTIVITY, DAILY_SHARES)),
    )
}


@dataclass(frozen=True)
class DailyCheck:
    """One asset check: a query listing the (day, user code, measure) that disagree."""

    name: str
    asset: str
    description: str
    mismatches: str  # query returning (date, user_code, measure, expected, actual, difference)
    inputs: tuple[str, ...] = ()  # collections it reads
    reads_raw: bool = True  # False: compares daily tables only, so it works after retention
    # A query returning the (date, user_code) that may differ: `mismatches` then runs only for
    # those user codes (and not at all when there are none).
    suspects: str | None = None
    # A query on the suspects returning one value, a further parameter of `mismatches` named
    # after its column, constant for the planner (NULL: nothing to compare).
    bound: str | None = None

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
        (ACTIVITY,),
    ),
    DailyCheck(
        "user_stats_match_other_daily_tables",
        USER_STATS,
        "Per user code and day: the user stats equal the sums of the group stats (and their "
        "share codes), total_page_views the sum of the page stats' view_count, total_clicks the "
        "sum of the click targets' click_count. Tables not materialized for a day are skipped.",
        "select_daily_identity_mismatches",
        (DAILY_SHARES,),
        reads_raw=False,
    ),
    DailyCheck(
        "session_counters_match_events",
        USER_STATS,
        "Sessions started that day: their page_views and clicks counters equal the number of "
        "their rows in analytics_page_views and analytics_clicks.",
        "select_session_counter_mismatches",
        (ACTIVITY, SPILLED),
        suspects="select_session_counter_suspects",
        bound="select_day_sessions_end",
    ),
    DailyCheck(
        "group_stats_match_raw_events",
        GROUP_STATS,
        "Per user code, share code (missing ones together) and day: the totals equal what the "
        "raw rows with that share code give.",
        "select_group_stats_mismatches",
        (COMPARED,),
    ),
    DailyCheck(
        "click_targets_match_raw_clicks",
        CLICK_TARGETS,
        "Per user code, share code, day, click target and category: click_count equals the "
        "number of raw clicks.",
        "select_click_target_mismatches",
        (COMPARED,),
        suspects="select_click_target_suspects",
    ),
    DailyCheck(
        "page_stats_match_raw_page_views",
        PAGE_STATS,
        "Per user code, share code, day and page type: view_count equals the number of raw "
        "page views.",
        "select_page_stats_mismatches",
        (COMPARED,),
        suspects="select_page_stats_suspects",
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


@dataclass
class Evaluation:
    """What evaluating the checks of [start, stop) found, and what it counted on the way."""

    outcomes: list[CheckOutcome] = field(default_factory=list)
    # Per day, the raw rows the checks' collections counted: sessions started, page views and
    # clicks that day (only those collected: the selected checks decide which).
    raw_counts: dict[date, dict[str, int]] = field(default_factory=dict)


# The raw counts of a day: (metadata name, the collection that counted them).
RAW_COUNTS = (
    ("raw_sessions_started", SESSIONS),
    ("raw_page_views", PAGE_VIEWS),
    ("raw_clicks", CLICKS),
)


def evaluate_checks(
    conn: psycopg.Connection,
    checks: Sequence[DailyCheck],
    start: date,
    stop: date,
    compared_days: Mapping[str, Iterable[date]],
    emptied_days: Iterable[date] = (),
    retention_horizon: date | None = None,
    collected: Iterable[str] = (),
) -> Evaluation:
    """Runs `checks` for the days [start, stop) inside the caller's transaction.

    `compared_days` names, per daily table, the days it holds a materialization of (the
    identity check compares only those). `emptied_days` have no raw rows left after retention
    (before `retention_horizon`): checks that read raw rows report them as unverifiable.
    `collected` names the collections this transaction already holds (filled beside it, see
    raw_passes.py).
    """
    days = [date.fromordinal(n) for n in range(start.toordinal(), stop.toordinal())]
    evaluation = Evaluation()
    if not checks or not days:
        return evaluation
    emptied = set(emptied_days)
    params: dict[str, object] = {"start_day": start, "end_day": stop}
    for table, param in COMPARED_DAYS_PARAMETERS.items():
        params[param] = sorted(compared_days.get(table, ()))
    collected = set(collected)
    outcomes = []
    for check in checks:
        for name in check.inputs:
            _collect(conn, COLLECTIONS[name], days, params, collected)
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
    evaluation.outcomes = outcomes
    evaluation.raw_counts = _raw_counts(conn, collected, days)
    return evaluation


def _raw_counts(
    conn: psycopg.Connection, collected: set[str], days: Sequence[date]
) -> dict[date, dict[str, int]]:
    """The day's raw rows as the collections counted them: a sum over their few rows, no
    second look at the raw tables."""
    counts: dict[date, dict[str, int]] = {day: {} for day in days}
    for name, collection in RAW_COUNTS:
        if collection not in collected:
            continue
        found: dict[date, int] = dict(queries.run(conn, f"select_{name}").fetchall())
        for day in days:
            counts[day][name] = int(found.get(day, 0))
    return counts


def _collect(
    conn: psycopg.Connection,
    collection: Collection,
    days: Sequence[date],
    params: Mapping[str, object],
    collected: set[str],
) -> None:
    """Fills `collection` (and first what it needs) unless this transaction already did."""
    if collection.name in collected:
        return
    for need in collection.needs:
        _collect(conn, COLLECTIONS[need], days, params, collected)
    for create in collection.create:
        queries.run(conn, create)
    if collection.per_day:
        run_pass(conn, collection, days)
    if collection.once:
        queries.run(conn, collection.once, params)
    collected.add(collection.name)


def raw_passes(checks: Sequence[DailyCheck]) -> list[Collection]:
    """The per-day passes over the raw rows that `checks` read, directly or through the
    collections built from them."""
    passes: dict[str, Collection] = {}

    def visit(name: str) -> None:
        collection = COLLECTIONS[name]
        for need in collection.needs:
            visit(need)
        if collection.per_day:
            passes[name] = collection

    for check in checks:
        for name in check.inputs:
            visit(name)
    return list(passes.values())


def run_pass(conn: psycopg.Connection, collection: Collection, days: Sequence[date]) -> None:
    """Fills the created table of a per-day collection: its query once per day (the day's
    bounds its only parameters), and for the day before the first when it asks."""
    assert collection.per_day
    for day in days:
        queries.run(conn, collection.per_day, _day_bounds(day))
    if collection.also_day_before:
        queries.run(conn, collection.per_day, _day_bounds(days[0] - timedelta(1)))


def _day_bounds(day: date) -> dict[str, object]:
    start = datetime.combine(day, time(), UTC)
    return {"day": day, "day_start": start, "day_end": start + timedelta(1)}


def _mismatches(
    conn: psycopg.Connection, check: DailyCheck, params: dict[str, object]
) -> list[tuple]:
    if check.suspects:
        suspects = queries.run(conn, check.suspects, params).fetchall()
        if not suspects:
            return []
        params = {**params, "suspect_user_codes": sorted({user_code for _, user_code in suspects})}
    if check.bound:
        cursor = queries.run(conn, check.bound, params)
        assert cursor.description  # a SELECT of one column
        (value,) = cursor.fetchone() or (None,)
        if value is None:
            return []
        params = {**params, cursor.description[0].name: value}
    return queries.run(conn, check.mismatches, params).fetchall()
