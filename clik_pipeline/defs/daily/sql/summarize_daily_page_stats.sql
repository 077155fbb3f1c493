SELECT date, count(*) AS row_count,
       count(DISTINCT page_type) AS page_types,
       sum(view_count) AS total_page_views
FROM analytics_daily_page_stats
WHERE date >= %(start_day)s AND date < %(end_day)s
GROUP BY date
