-- Days whose aggregates rows received in (after, until] can change, with the latest receive
-- time for each. Page views and clicks change their own day. A session row is (re)stamped when
-- it is created or its first_seen moves earlier, which moves it between days: every day from
-- its first_seen to its last_seen covers both its old and its new day. The BRIN indexes on
-- received_at keep this a scan of recently written blocks only.
SELECT day, max(received_at) AS last_received
FROM (
    SELECT (viewed_at AT TIME ZONE 'UTC')::date AS day, received_at
    FROM analytics_page_views
    WHERE received_at > %(after)s AND received_at <= %(until)s
    UNION ALL
    SELECT (clicked_at AT TIME ZONE 'UTC')::date, received_at
    FROM analytics_clicks
    WHERE received_at > %(after)s AND received_at <= %(until)s
    UNION ALL
    SELECT generate_series((first_seen AT TIME ZONE 'UTC')::date,
                           (last_seen AT TIME ZONE 'UTC')::date, interval '1 day')::date,
           received_at
    FROM analytics_sessions
    WHERE received_at > %(after)s AND received_at <= %(until)s
) AS received
GROUP BY day
ORDER BY day
