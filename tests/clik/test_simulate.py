"""`clik simulate`: the traffic model on its own, then the whole simulation against the real
ingest service (uvicorn on an ephemeral port) and a real database, whose rows must equal the
closing summary."""

from __future__ import annotations

import socket
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from clik.cli import main
from clik.simulator import Simulation
from clik.traffic import BATCH_SIZE, TrafficParams, sessions, window
from ingest_service.bots import is_bot
from tests.tracker.servers import running_ingest

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)


def params(visitors: int = 400, days: float = 3, seed: int = 1, **kw) -> TrafficParams:
    start, end = window(days, None, now=NOW)
    return TrafficParams(visitors, start, end, seed=seed, **kw)


@pytest.fixture(scope="module")
def sample() -> list:
    return list(sessions(params(visitors=3000, days=7)))


# --- the traffic model -------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_traffic() -> None:
    first = [s.batches for s in sessions(params(seed=5))]
    assert first == [s.batches for s in sessions(params(seed=5))]
    assert first != [s.batches for s in sessions(params(seed=6))]


def test_a_seed_gives_the_same_visits_whatever_the_window() -> None:
    def shape(window_params: TrafficParams) -> list[tuple]:
        return sorted(
            (s.user_code, s.user_agent, [[e["type"] for e in b] for b in s.batches])
            for s in sessions(window_params)
        )

    later = TrafficParams(300, NOW - timedelta(days=2, hours=7), NOW - timedelta(hours=7))
    assert shape(params(visitors=300, days=2)) == shape(later)


def test_sessions_have_the_seed_designs_ratios(sample: list) -> None:
    humans = [s for s in sample if not s.is_bot]
    views = [sum(e["type"] == "page_view" for e in s.events) for s in humans]
    clicks = [sum(e["type"] == "click" for e in s.events) for s in humans]
    assert 4.2 < statistics.mean(views) < 4.6
    assert 2.0 < statistics.mean(clicks) < 2.4
    assert 1.25 < len(sample) / 3000 < 1.45  # sessions per visitor


def test_traffic_follows_a_daily_curve_and_crosses_midnight(sample: list) -> None:
    by_hour = [0] * 24
    for session in sample:
        by_hour[session.started.hour] += 1
    assert min(by_hour[1:5]) * 4 < max(by_hour[10:20])  # nights are quiet
    over_midnight = [s for s in sample if s.started.date() != s.ended.date()]
    assert len(over_midnight) >= 10


def test_every_event_is_inside_the_window(sample: list) -> None:
    start, end = window(7, None, now=NOW)
    assert all(start <= s.started and s.ended < end for s in sample)


def test_share_codes_contacts_and_user_codes_vary(sample: list) -> None:
    first_data = [s.batches[0][0]["data"] for s in sample]
    assert {d["share_code"] for d in first_data} >= {"qr", "nfc", "linkedin", None}
    assert sum(d["contact_id"] is not None for d in first_data) > len(sample) / 10
    assert len({s.user_code for s in sample}) == 10


def test_crawlers_are_recognised_by_the_service_and_browsers_are_not(sample: list) -> None:
    bots = [s for s in sample if s.is_bot]
    assert 0.02 < len(bots) / len(sample) < 0.07
    assert all(is_bot(s.user_agent) for s in bots)
    assert not any(is_bot(s.user_agent) for s in sample if not s.is_bot)
    assert all(e["type"] != "click" for s in bots for e in s.events)


def test_batches_follow_the_trackers_rules(sample: list) -> None:
    for session in sample:
        first = session.batches[0][0]
        assert first["type"] == "session"
        assert all(0 < len(batch) <= BATCH_SIZE for batch in session.batches)
        ids = [e["data"].get("id", e["data"]["session_id"]) for e in session.events]
        assert len(ids) == len(set(ids))  # each event in exactly one batch
        for batch in session.batches:
            for event in batch[:-1]:  # a contact click is sent at once: it ends its batch
                assert event["data"].get("click_category") != "contact"
    resends = sum(len(s.resend) for s in sample)
    batches = sum(len(s.batches) for s in sample)
    assert 0.01 < resends / batches < 0.03


# --- against the real service ------------------------------------------------------------------


def database_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        sessions, views, clicks, counters_ok = conn.execute(
            """
            SELECT (SELECT count(*) FROM analytics_sessions),
                   (SELECT count(*) FROM analytics_page_views),
                   (SELECT count(*) FROM analytics_clicks),
                   (SELECT bool_and(s.page_views = (SELECT count(*) FROM analytics_page_views v
                                                     WHERE v.session_id = s.session_id)
                                AND s.clicks = (SELECT count(*) FROM analytics_clicks c
                                                 WHERE c.session_id = s.session_id))
                      FROM analytics_sessions s)
            """
        ).fetchone()
    return {"sessions": sessions, "page_views": views, "clicks": clicks, "ok": counters_ok}


def test_the_summary_equals_the_database(database_url: str, tmp_path: Path) -> None:
    start, end = window(2, None)
    model = TrafficParams(120, start, end, user_codes=4, seed=11)
    humans = [s for s in sessions(model) if not s.is_bot]
    with running_ingest(database_url, tmp_path) as url:
        summary = Simulation(url, model, concurrency=8).run()
    rows = database_counts(database_url)

    assert summary.unexpected == [] and summary.unsent == summary.dropped == 0
    assert rows["sessions"] == len(humans) == summary.sessions - summary.bot_sessions
    human_views = sum(e["type"] == "page_view" for s in humans for e in s.events)
    human_clicks = sum(e["type"] == "click" for s in humans for e in s.events)
    assert (rows["page_views"], rows["clicks"]) == (human_views, human_clicks)
    assert summary.accepted == rows["sessions"] + rows["page_views"] + rows["clicks"]

    def posted(group: list) -> int:  # events posted, a resent batch counting twice
        return sum(
            len(batch) * (2 if index in s.resend else 1)
            for s in group
            for index, batch in enumerate(s.batches)
        )

    bots = [s for s in sessions(model) if s.is_bot]
    assert summary.rejected == summary.rejected_bots == posted(bots) > 0
    resent = posted(humans) - sum(len(s.events) for s in humans)
    assert summary.duplicates == resent > 0  # a resent batch changes nothing
    assert rows["ok"]  # session counters equal their rows
    assert (rows["sessions"], rows["page_views"]) == (
        summary.sessions - summary.bot_sessions,
        summary.stored_page_views,
    )
    assert summary.stored == summary.accepted


def test_the_command_prints_the_summary_and_a_second_run_is_all_duplicates(
    database_url: str, tmp_path: Path
) -> None:
    start = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d")
    args = ["simulate", "--visitors", "40", "--days", "1", "--start", start,
            "--user-codes", "3", "--seed", "4", "--no-progress"]  # fmt: skip
    with running_ingest(database_url, tmp_path) as url:
        first = CliRunner().invoke(main, [*args, "--url", url])
        rows = database_counts(database_url)
        second = CliRunner().invoke(main, [*args, "--url", url])
    assert first.exit_code == 0, first.output
    total = rows["sessions"] + rows["page_views"] + rows["clicks"]
    assert f"server: {total:,} accepted" in first.stdout
    expected = (
        f"expected in the database: {rows['sessions']:,} sessions, {rows['page_views']:,} page "
        f"views, {rows['clicks']:,} clicks = {total:,} rows = the accepted events"
    )
    assert expected in first.stdout
    assert "sent: " in first.stdout and "events/s" in first.stdout
    # --start fixes the window, so the same seed sends the very same events again.
    assert second.exit_code == 0, second.output
    assert "server: 0 accepted" in second.stdout
    assert database_counts(database_url) == rows


def test_events_older_than_the_service_accepts_stop_the_run_with_one_line(
    database_url: str, tmp_path: Path
) -> None:
    args = ["simulate", "--visitors", "200", "--days", "10", "--no-progress"]
    with running_ingest(database_url, tmp_path, max_event_age_hours=24) as url:
        result = CliRunner().invoke(main, [*args, "--url", url, "--concurrency", "2"])
    assert result.exit_code == 1
    assert "CLIK_MAX_EVENT_AGE_HOURS=" in result.stderr  # the warning names the setting
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: the server refused events (stopped early)")
    assert "older than the accepted age" in last
    rows = database_counts(database_url)
    assert f"server: {rows['sessions'] + rows['page_views'] + rows['clicks']:,} accepted" in (
        result.stdout
    )


def test_when_the_service_rejects_everything_nothing_is_expected_in_the_database(
    database_url: str, tmp_path: Path
) -> None:
    """Every event is older than the service accepts: the expected rows come from the
    answers (none taken), not from what was sent."""
    start = (datetime.now(UTC) - timedelta(days=5)).strftime("%Y-%m-%d")
    args = ["simulate", "--visitors", "3", "--days", "1", "--start", start, "--seed", "2",
            "--concurrency", "1", "--no-progress"]  # fmt: skip
    with running_ingest(database_url, tmp_path, max_event_age_hours=24) as url:
        result = CliRunner().invoke(main, [*args, "--url", url])
    assert result.exit_code == 1
    assert "older than the accepted age" in result.stderr
    assert database_counts(database_url) | {"ok": None} == {
        "sessions": 0, "page_views": 0, "clicks": 0, "ok": None,
    }  # fmt: skip
    assert "server: 0 accepted, 0 duplicates" in result.stdout
    assert (
        "expected in the database: 0 sessions, 0 page views, 0 clicks = 0 rows = the accepted "
        "events" in result.stdout
    ), result.stdout


def test_a_period_ending_in_the_future_is_refused() -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    result = CliRunner().invoke(
        main, ["simulate", "--visitors", "5", "--days", "2", "--start", tomorrow]
    )
    assert result.exit_code == 1
    assert "in the future" in result.stderr and "Traceback" not in result.output


def test_an_unreachable_service_fails_at_once_in_one_line() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        result = CliRunner().invoke(
            main,
            ["simulate", "--visitors", "5", "--days", "1", "--url", f"http://127.0.0.1:{port}"],
        )
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith(f"Error: cannot reach the ingest service at 127.0.0.1:{port}")
