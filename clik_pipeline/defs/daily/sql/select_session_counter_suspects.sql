-- The screen of session_counters_match_events, per day and user code, from the collections
-- alone (no event is joined to its session here): the sessions' counters weighted by their
-- session hash must equal the sum of the session hashes of their events. Those are the day's
-- events (whatever session they belong to) plus the later events of the day's sessions that
-- ran past midnight, minus the day's events of earlier days' sessions that ran into it. A wrong
-- counter moves its side by (error x 64-bit hash): errors cancel only if hashes happen to,
-- about once in 2^64. What this cannot explain (a session started before the day before the
-- range and still running, an event whose user code is not its session's) makes its user code
-- a suspect too: select_session_counter_mismatches.sql then compares those exactly.
SELECT date, user_code
FROM (
    SELECT date, user_code,
           page_view_weights - weighted_page_views AS page_views,
           click_weights - weighted_clicks AS clicks
    FROM expected_activity
    UNION ALL
    SELECT first_day, user_code, page_view_weights, click_weights
    FROM spilled_events
    WHERE first_day >= %(start_day)s
    UNION ALL
    SELECT event_day, user_code, -page_view_weights, -click_weights
    FROM spilled_events
    WHERE event_day < %(end_day)s
) AS terms
GROUP BY date, user_code
HAVING sum(page_views) <> 0 OR sum(clicks) <> 0
ORDER BY date, user_code
