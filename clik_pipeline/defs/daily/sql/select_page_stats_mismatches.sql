-- analytics_daily_page_stats against the raw page views: one row per key whose count differs,
-- or that only the daily table has. GROUP BY puts missing share codes together, as the
-- table's NULLS NOT DISTINCT key does.
-- Every mismatch query returns (date, user_code, measure, expected, actual, difference).
SELECT date, user_code,
       format('view_count of page_type %%s, share_code %%s',
              page_type, coalesce(share_code, '(none)')) AS measure,
       sum(expected)::text AS expected,
       sum(actual)::text AS actual,
       abs(sum(expected) - sum(actual))::bigint AS difference
FROM (
    SELECT date, user_code, share_code, page_type, views AS expected, 0 AS actual
    FROM expected_page_views
    UNION ALL
    SELECT date, user_code, share_code, page_type, 0, view_count
    FROM analytics_daily_page_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
) AS both_sides
GROUP BY date, user_code, share_code, page_type
HAVING sum(expected) <> sum(actual) OR sum(expected) = 0
