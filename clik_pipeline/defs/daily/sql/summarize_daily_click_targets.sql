SELECT date, count(*) AS row_count,
       count(DISTINCT click_target) AS click_targets,
       sum(click_count) AS total_clicks
FROM analytics_daily_click_targets
WHERE date >= %(start_day)s AND date < %(end_day)s
GROUP BY date
