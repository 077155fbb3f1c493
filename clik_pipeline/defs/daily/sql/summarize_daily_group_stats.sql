SELECT date, count(*) AS row_count,
       count(DISTINCT share_code) AS share_codes,
       count(*) FILTER (WHERE share_code IS NULL) AS rows_without_share_code,
       sum(total_sessions) AS total_sessions,
       sum(total_page_views) AS total_page_views,
       sum(total_clicks) AS total_clicks
FROM analytics_daily_group_stats
WHERE date >= %(start_day)s AND date < %(end_day)s
GROUP BY date
