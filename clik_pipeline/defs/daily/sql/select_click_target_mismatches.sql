-- analytics_daily_click_targets against the raw clicks, per (day, user code, share code,
-- click target, click category).
SELECT date, user_code,
       format('click_count of %%s (%%s), share_code %%s', click_target,
              coalesce(click_category, 'no category'), coalesce(share_code, '(none)')) AS measure,
       sum(expected)::text AS expected,
       sum(actual)::text AS actual,
       abs(sum(expected) - sum(actual))::bigint AS difference
FROM (
    SELECT date, user_code, share_code, click_target, click_category, clicks AS expected,
           0 AS actual
    FROM expected_clicks
    UNION ALL
    SELECT date, user_code, share_code, click_target, click_category, 0, click_count
    FROM analytics_daily_click_targets
    WHERE date >= %(start_day)s AND date < %(end_day)s
) AS both_sides
GROUP BY date, user_code, share_code, click_target, click_category
HAVING sum(expected) <> sum(actual) OR sum(expected) = 0
