SELECT date, user_code, share_code, total_sessions, total_page_views, total_clicks
FROM (
    SELECT *, row_number() OVER (PARTITION BY date ORDER BY total_page_views DESC, user_code, share_code) AS rank
    FROM analytics_daily_group_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
) AS ranked
WHERE rank <= %(rows_per_day)s
ORDER BY date, rank
