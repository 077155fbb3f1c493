-- Per click target first (a hash aggregate), then per day: no sort of the day's rows for the
-- distinct count.
SELECT date, sum(rows)::bigint AS row_count, count(*) AS click_targets,
       sum(clicks)::bigint AS total_clicks
FROM (
    SELECT date, click_target, count(*) AS rows, sum(click_count) AS clicks
    FROM analytics_daily_click_targets
    WHERE date >= %(start_day)s AND date < %(end_day)s
    GROUP BY date, click_target
) AS per_click_target
GROUP BY date
