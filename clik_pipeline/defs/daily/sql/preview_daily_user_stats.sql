-- The busiest rows of each day, shown as a small table on the materialization: a top-N per
-- day (LIMIT keeps only N rows while reading the day), not a sort of all its rows.
SELECT d.date, r.user_code, r.total_sessions, r.total_page_views, r.total_clicks,
       array_to_string(r.unique_share_codes, ', ') AS unique_share_codes
FROM (
    SELECT generate_series(%(start_day)s::date, %(end_day)s::date - 1, interval '1 day')::date
        AS date
) AS d
CROSS JOIN LATERAL (
    SELECT *
    FROM analytics_daily_user_stats AS t
    WHERE t.date = d.date
    ORDER BY total_page_views DESC, user_code
    LIMIT %(rows_per_day)s
) AS r
ORDER BY d.date, r.total_page_views DESC, r.user_code
