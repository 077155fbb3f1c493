-- Sessions started in [start_day, end_day) whose page_views or clicks counter differs from the
-- number of their event rows, summed per day and user code.
WITH day_sessions AS (
    SELECT session_id, user_code, (first_seen AT TIME ZONE 'UTC')::date AS date,
           page_views, clicks
    FROM analytics_sessions
    WHERE first_seen >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
      AND first_seen <  %(end_day)s::timestamp AT TIME ZONE 'UTC'
), viewed AS (
    SELECT session_id, count(*) AS events
    FROM analytics_page_views
    WHERE viewed_at >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
      AND viewed_at <  %(events_end)s
      AND session_id IN (SELECT session_id FROM day_sessions)
    GROUP BY session_id
), clicked AS (
    SELECT session_id, count(*) AS events
    FROM analytics_clicks
    WHERE clicked_at >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
      AND clicked_at <  %(events_end)s
      AND session_id IN (SELECT session_id FROM day_sessions)
    GROUP BY session_id
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
