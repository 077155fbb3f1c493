-- page_stats_match_raw_page_views, exactly, for the user codes the screen could not clear
-- (select_page_stats_suspects.sql): analytics_daily_page_stats against their raw page views,
-- counted here per (day, user code, share code, page type) through the user_code index. One
-- row per key whose count differs, or that only the daily table has. GROUP BY puts missing
-- share codes together, as the table's NULLS NOT DISTINCT key does.
-- Every mismatch query returns (date, user_code, measure, expected, actual, difference).
SELECT date, user_code,
       format('view_count of page_type %%s, share_code %%s',
              page_type, coalesce(share_code, '(none)')) AS measure,
       sum(expected)::text AS expected,
       sum(actual)::text AS actual,
       abs(sum(expected) - sum(actual))::bigint AS difference
FROM (
    SELECT (viewed_at AT TIME ZONE 'UTC')::date AS date, user_code, share_code, page_type,
           count(*) AS expected, 0 AS actual
    FROM analytics_page_views
    WHERE user_code = ANY(%(suspect_user_codes)s::text[])
      AND viewed_at >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
      AND viewed_at <  %(end_day)s::timestamp AT TIME ZONE 'UTC'
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT date, user_code, share_code, page_type, 0, view_count
    FROM analytics_daily_page_stats
    WHERE user_code = ANY(%(suspect_user_codes)s::text[])
      AND date >= %(start_day)s AND date < %(end_day)s
) AS both_sides
GROUP BY date, user_code, share_code, page_type
HAVING sum(expected) <> sum(actual) OR sum(expected) = 0
