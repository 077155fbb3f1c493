-- What rows received in (after, until] add to each day of each raw table. Page views and
-- clicks are only ever inserted (retention drops whole expired days), so their rows received
-- in the window are exactly what the window adds to their day's count. A session row is
-- (re)stamped when it is created or its first_seen moves earlier, which can move it to an
-- earlier day: every day from its first_seen to its last_seen may have changed (its old day
-- lies in that span) and is recounted; its receive time counts for its own (first_seen) day.
-- The BRIN indexes on received_at keep this a scan of recently written blocks only.
SELECT %(page_views)s AS table_name, (viewed_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS rows_received, max(received_at) AS last_received
FROM analytics_page_views
WHERE received_at > %(after)s AND received_at <= %(until)s
GROUP BY day
UNION ALL
SELECT %(clicks)s, (clicked_at AT TIME ZONE 'UTC')::date AS day, count(*), max(received_at)
FROM analytics_clicks
WHERE received_at > %(after)s AND received_at <= %(until)s
GROUP BY day
UNION ALL
SELECT %(sessions)s, spanned.day, NULL,
       max(received_at) FILTER (WHERE spanned.day = (first_seen AT TIME ZONE 'UTC')::date)
FROM analytics_sessions
CROSS JOIN LATERAL generate_series((first_seen AT TIME ZONE 'UTC')::date,
                                   (last_seen AT TIME ZONE 'UTC')::date,
                                   interval '1 day') AS spanned_at
CROSS JOIN LATERAL (SELECT spanned_at::date AS day) AS spanned
WHERE received_at > %(after)s AND received_at <= %(until)s
GROUP BY spanned.day
ORDER BY 1, 2
