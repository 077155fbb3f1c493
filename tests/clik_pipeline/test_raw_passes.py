"""The checks' raw passes beside the aggregation (raw_passes.py): they read the aggregation
transaction's snapshot, hand their rows over, and whenever they cannot help (a lock queued behind
the aggregation's, no connection) the aggregation runs them itself, with the same outcome; a
failed aggregation stops them and gives their connection back."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import date, timedelta

import psycopg
import pytest
from psycopg import sql

from clik_pipeline.defs.daily import aggregation, checks, raw_passes
from clik_pipeline.defs.daily.checks import CHECKS, COLLECTIONS, evaluate_checks
from clik_pipeline.defs.daily.raw_passes import RawPassesBeside
from clik_pipeline.resources import ClikDatabase
from clik_pipeline.tables import DAILY_TABLE_NAMES
from tests.clik_pipeline.conftest import Pipeline
from tests.clik_pipeline.traffic import generate
from tests.factories import insert_page_views, page_view

DAY = date(2026, 11, 2)
DAYS = [DAY - timedelta(1), DAY, DAY + timedelta(1)]
PASSES = [COLLECTIONS[name] for name in ("sessions", "page_views", "clicks", "crossing_sessions")]
scalar = aggregation.queries.scalar  # before any test replaces it
DAY_PAGE_VIEWS = (
    "SELECT count(*) FROM analytics_page_views "
    "WHERE viewed_at >= %(day)s::timestamp AT TIME ZONE 'UTC' "
    "AND viewed_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'"
)


@pytest.fixture
def traffic(conn: psycopg.Connection) -> None:
    """Three days of generated traffic, with sessions over both midnights."""
    generate(DAYS).insert(conn)


@pytest.fixture
def database(database_url: str) -> ClikDatabase:
    return ClikDatabase(database_url=database_url)


def snapshot(conn: psycopg.Connection) -> str:
    """Opens the aggregation's REPEATABLE READ snapshot on `conn` (in a transaction) and
    returns its exported id."""
    _, snapshot_id = aggregation.queries.one(conn, "select_snapshot")
    return snapshot_id


def pipeline_backends(conn: psycopg.Connection) -> int:
    """The pipeline's connections to this test's database, once those closing are gone."""
    deadline = time.monotonic() + 5
    while True:
        (count,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'clik_pipeline' AND datname = current_database()"
        ).fetchone()
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def collection_rows(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    return {
        collection.name: conn.execute(
            sql.SQL("SELECT * FROM {} ORDER BY 1, 2, 3").format(sql.Identifier(collection.table))
        ).fetchall()
        for collection in PASSES
        if collection.table
    }


def test_the_passes_read_the_aggregation_snapshot_and_hand_over_what_it_would_read(
    database: ClikDatabase, traffic, conn: psycopg.Connection
) -> None:
    with database.connect() as writer:
        writer.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with writer.transaction():
            snapshot_id = snapshot(writer)
            # Committed after the snapshot: the aggregates of this transaction do not count it.
            insert_page_views(conn, [page_view("late", f"{DAY} 12:00:00", user_code="u1")])
            with RawPassesBeside(database.connect, snapshot_id, PASSES, [DAY]) as beside:
                handed_over = beside.hand_over(writer)
            assert handed_over == {collection.name for collection in PASSES}
            beside_rows = collection_rows(writer)
            for collection in PASSES:  # the same passes in the aggregation's own transaction
                writer.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(collection.table)))
                for create in collection.create:
                    checks.queries.run(writer, create)
                checks.run_pass(writer, collection, [DAY])
            assert collection_rows(writer) == beside_rows
            (in_snapshot,) = writer.execute(DAY_PAGE_VIEWS, {"day": DAY}).fetchone()
    (now,) = conn.execute(DAY_PAGE_VIEWS, {"day": DAY}).fetchone()
    assert sum(row[3] for row in beside_rows["page_views"] if row[0] == DAY) == in_snapshot
    assert in_snapshot == now - 1
    # the day's sessions that ran past midnight, and those of the day before
    assert {row[0] for row in beside_rows["crossing_sessions"]} == {DAY - timedelta(1), DAY}


def test_passes_queued_behind_a_lock_give_up_and_leave_the_passes_to_the_aggregation(
    database: ClikDatabase, traffic, conn: psycopg.Connection
) -> None:
    """A DDL statement waiting for the aggregation's lock on a raw table queues the passes'
    lock behind it; the aggregation waits for the passes outside the database, where no
    deadlock detector sees the cycle. The passes' lock timeout breaks it."""
    with database.connect() as writer:
        writer.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with writer.transaction():
            snapshot_id = snapshot(writer)
            writer.execute(DAY_PAGE_VIEWS, {"day": DAY})  # the aggregation read the table
            ddl_done = threading.Event()

            def ddl() -> None:
                with psycopg.connect(conn.info.dsn, autocommit=True) as other, other.transaction():
                    other.execute("LOCK TABLE analytics_page_views IN ACCESS EXCLUSIVE MODE")
                ddl_done.set()

            threading.Thread(target=ddl, daemon=True).start()
            deadline = time.monotonic() + 10
            while not conn.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock'"
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the DDL statement never queued"
                time.sleep(0.05)

            began = time.monotonic()
            with RawPassesBeside(database.connect, snapshot_id, PASSES, [DAY]) as beside:
                assert beside.hand_over(writer) == set()
                assert beside.not_used and "lock timeout" in beside.not_used
            assert time.monotonic() - began < 8
            # The aggregation holds its locks: it runs the passes itself, the DDL still queued.
            evaluation = evaluate_checks(writer, CHECKS, DAY, DAY + timedelta(1), {})
            assert (
                evaluation.raw_counts[DAY]["raw_page_views"]
                == (writer.execute(DAY_PAGE_VIEWS, {"day": DAY}).fetchone()[0])
            )
            assert not ddl_done.is_set()
    assert ddl_done.wait(10)


def test_passes_that_connect_after_the_writes_never_start(
    database: ClikDatabase, conn: psycopg.Connection
) -> None:
    @contextmanager
    def slow_connection():
        time.sleep(raw_passes.START_TIMEOUT_SECONDS + 1)
        with database.connect() as late:
            yield late

    with database.connect() as writer:
        writer.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with writer.transaction():
            snapshot_id = snapshot(writer)
            with RawPassesBeside(slow_connection, snapshot_id, PASSES, [DAY]) as beside:
                assert beside.hand_over(writer) == set()
                assert beside.not_used == "they had no connection 2 s after the writes"
            time.sleep(1.5)  # the late connection is made, finds the passes abandoned, closes
            assert pipeline_backends(conn) == 1  # the writer alone


def test_a_chunk_whose_passes_cannot_connect_runs_them_itself(
    database: ClikDatabase, traffic
) -> None:
    def no_connection():
        raise psycopg.OperationalError("connection refused")

    with database.connect() as conn:
        aggregation.ensure_partitions(conn, DAY, DAY + timedelta(1))
        result = aggregation.process_chunk(
            conn, DAY, DAY + timedelta(1), DAILY_TABLE_NAMES, CHECKS, {}, no_connection
        )
    assert len(result.outcomes) == len(CHECKS)
    assert all(outcome.passed for outcome in result.outcomes)
    assert result.warnings == [
        "the checks read the raw rows in the aggregation's transaction, not beside it: they "
        "failed before they started: connection refused"
    ]
    assert result.raw_counts[DAY]["raw_page_views"] > 0


def test_a_materialization_reads_the_raw_rows_beside_and_compares_them(
    pipeline: Pipeline, traffic, conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed_over: list[set[str]] = []
    hand_over = RawPassesBeside.hand_over

    def spy(self: RawPassesBeside, writer: psycopg.Connection) -> set[str]:
        handed_over.append(hand_over(self, writer))
        return handed_over[-1]

    monkeypatch.setattr(RawPassesBeside, "hand_over", spy)
    result = pipeline.materialize(DAYS[0], DAYS[-1])
    assert handed_over == [{collection.name for collection in PASSES}]
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(CHECKS) * len(DAYS)
    assert all(evaluation.passed for evaluation in evaluations)

    # A wrong aggregate is still found from the rows handed over.
    conn.execute(
        "UPDATE analytics_daily_group_stats SET total_page_views = total_page_views + 1 "
        "WHERE id = (SELECT min(id) FROM analytics_daily_group_stats WHERE date = %s)",
        [DAY],
    )
    monkeypatch.setattr(
        aggregation.queries,
        "scalar",
        lambda c, name, params=None: 0 if name.startswith("refresh_") else scalar(c, name, params),
    )
    result = pipeline.materialize(DAY, raise_on_error=False)
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert "group_stats_match_raw_events" in failed
    assert len(handed_over) == 2 and handed_over[-1]


def test_a_failed_aggregation_stops_the_passes_and_gives_their_connection_back(
    database: ClikDatabase, traffic, conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()
    run_pass = raw_passes.run_pass

    def slow_pass(other, collection, pass_days):
        started.set()
        other.execute("SELECT pg_sleep(30)")
        run_pass(other, collection, pass_days)

    def failing_refresh(c, name, params=None):
        if name.startswith("refresh_"):
            assert started.wait(10)
            raise RuntimeError("the refresh failed")
        return scalar(c, name, params)

    monkeypatch.setattr(raw_passes, "run_pass", slow_pass)
    monkeypatch.setattr(aggregation.queries, "scalar", failing_refresh)
    began = time.monotonic()
    with database.connect() as writer, pytest.raises(RuntimeError, match="refresh failed"):
        aggregation.process_chunk(
            writer, DAY, DAY + timedelta(1), DAILY_TABLE_NAMES, CHECKS, {}, database.connect
        )
    assert time.monotonic() - began < 20  # cancelled, not waited for
    assert pipeline_backends(conn) == 0
