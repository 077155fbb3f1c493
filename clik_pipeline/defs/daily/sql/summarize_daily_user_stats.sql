-- Per-day figures recorded on each materialization (the UI plots them across partitions).
SELECT date, count(*) AS row_count,
       sum(total_sessions) AS total_sessions,
       sum(total_page_views) AS total_page_views,
       sum(total_clicks) AS total_clicks
FROM analytics_daily_user_stats
WHERE date >= %(start_day)s AND date < %(end_day)s
GROUP BY date
