SELECT d.date, r.user_code, r.share_code, r.page_type, r.view_count
FROM (
    SELECT generate_series(%(start_day)s::date, %(end_day)s::date - 1, interval '1 day')::date
        AS date
) AS d
CROSS JOIN LATERAL (
    SELECT *
    FROM analytics_daily_page_stats AS t
    WHERE t.date = d.date
    ORDER BY view_count DESC, user_code, page_type
    LIMIT %(rows_per_day)s
) AS r
ORDER BY d.date, r.view_count DESC, r.user_code, r.page_type
