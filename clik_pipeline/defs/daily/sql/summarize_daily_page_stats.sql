-- Per page type first (a hash aggregate), then per day: no sort of the day's rows for the
-- distinct count.
SELECT date, sum(rows)::bigint AS row_count, count(*) AS page_types,
       sum(views)::bigint AS total_page_views
FROM (
    SELECT date, page_type, count(*) AS rows, sum(view_count) AS views
    FROM analytics_daily_page_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
    GROUP BY date, page_type
) AS per_page_type
GROUP BY date
