-- User codes with page views on at least `min_active_days` of `history_days` (from the daily
-- table) and none on `day`, the busiest first (median page views of their active days). The
-- day is read from its raw partition (`from_raw`), else from the daily table (its raw rows
-- dropped by retention): one index probe per candidate either way.
WITH history AS (
    SELECT user_code, count(*) AS active_days,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY total_page_views) AS typical_page_views
    FROM analytics_daily_user_stats
    WHERE date = ANY (%(history_days)s::date[]) AND total_page_views > 0
    GROUP BY user_code
    HAVING count(*) >= %(min_active_days)s
)
SELECT h.user_code, h.active_days, h.typical_page_views
FROM history AS h
WHERE NOT (
    CASE WHEN %(from_raw)s THEN EXISTS (
        SELECT FROM analytics_page_views AS p
        WHERE p.user_code = h.user_code
          AND p.viewed_at >= %(day)s::timestamp AT TIME ZONE 'UTC'
          AND p.viewed_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC')
    ELSE EXISTS (
        SELECT FROM analytics_daily_user_stats AS d
        WHERE d.user_code = h.user_code AND d.date = %(day)s AND d.total_page_views > 0)
    END)
ORDER BY h.typical_page_views DESC, h.user_code
