SELECT d.date, r.user_code, r.share_code, r.total_sessions, r.total_page_views, r.total_clicks
FROM (
    SELECT generate_series(%(start_day)s::date, %(end_day)s::date - 1, interval '1 day')::date
        AS date
) AS d
CROSS JOIN LATERAL (
    SELECT *
    FROM analytics_daily_group_stats AS t
    WHERE t.date = d.date
    ORDER BY total_page_views DESC, user_code, share_code
    LIMIT %(rows_per_day)s
) AS r
ORDER BY d.date, r.total_page_views DESC, r.user_code, r.share_code
