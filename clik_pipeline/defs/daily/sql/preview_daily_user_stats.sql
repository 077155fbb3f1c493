-- The busiest rows of each day, shown as a small table on the materialization.
SELECT date, user_code, total_sessions, total_page_views, total_clicks,
       array_to_string(unique_share_codes, ', ') AS unique_share_codes
FROM (
    SELECT *, row_number() OVER (PARTITION BY date ORDER BY total_page_views DESC, user_code) AS rank
    FROM analytics_daily_user_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
) AS ranked
WHERE rank <= %(rows_per_day)s
ORDER BY date, rank
