-- session_counters_match_events, exactly, for the user codes the screen could not clear
-- (select_session_counter_suspects.sql): every session of theirs started in
-- [start_day, end_day) against the number of its rows from the start of its day to its
-- last_seen (a session's events lie within first_seen..last_seen), summed per day, user code
-- and counter. events_end: just after the latest last_seen of those sessions.
WITH day_sessions AS MATERIALIZED (
    SELECT session_id, user_code, (first_seen AT TIME ZONE 'UTC')::date AS date, last_seen,
           page_views, clicks
    FROM analytics_sessions
    WHERE user_code = ANY(%(suspect_user_codes)s::text[])
      AND first_seen >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
      AND first_seen <  %(end_day)s::timestamp AT TIME ZONE 'UTC'
), viewed AS (
    SELECT s.session_id, count(*) AS events
    FROM day_sessions AS s
    JOIN analytics_page_views AS v USING (session_id)
    WHERE v.viewed_at >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
      AND v.viewed_at <  %(events_end)s
      AND v.viewed_at >= s.date::timestamp AT TIME ZONE 'UTC'
      AND v.viewed_at <= s.last_seen
    GROUP BY s.session_id
), clicked AS (
    SELECT s.session_id, count(*) AS events
    FROM day_sessions AS s
    JOIN analytics_clicks AS c USING (session_id)
    WHERE c.clicked_at >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
      AND c.clicked_at <  %(events_end)s
      AND c.clicked_at >= s.date::timestamp AT TIME ZONE 'UTC'
      AND c.clicked_at <= s.last_seen
    GROUP BY s.session_id
), counters AS (
    SELECT s.date, s.user_code, 'page_views' AS counter, s.page_views AS counted,
           coalesce(v.events, 0) AS events
    FROM day_sessions AS s LEFT JOIN viewed AS v USING (session_id)
    UNION ALL
    SELECT s.date, s.user_code, 'clicks', s.clicks, coalesce(c.events, 0)
    FROM day_sessions AS s LEFT JOIN clicked AS c USING (session_id)
)
SELECT date, user_code,
       format('%%s counter of %%s session(s)', counter, count(*)) AS measure,
       sum(events)::text AS expected,
       sum(counted)::text AS actual,
       sum(abs(events - counted))::bigint AS difference
FROM counters
WHERE counted <> events
GROUP BY date, user_code, counter
