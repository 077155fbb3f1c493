-- click_targets_match_raw_clicks, exactly, for the user codes the screen could not clear
-- (select_click_target_suspects.sql): analytics_daily_click_targets against their raw clicks,
-- counted here per (day, user code, share code, click target, click category) through the
-- user_code index.
SELECT date, user_code,
       format('click_count of %%s (%%s), share_code %%s', click_target,
              coalesce(click_category, 'no category'), coalesce(share_code, '(none)')) AS measure,
       sum(expected)::text AS expected,
       sum(actual)::text AS actual,
       abs(sum(expected) - sum(actual))::bigint AS difference
FROM (
    SELECT (clicked_at AT TIME ZONE 'UTC')::date AS date, user_code, share_code, click_target,
           click_category, count(*) AS expected, 0 AS actual
    FROM analytics_clicks
    WHERE user_code = ANY(%(suspect_user_codes)s::text[])
      AND clicked_at >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
      AND clicked_at <  %(end_day)s::timestamp AT TIME ZONE 'UTC'
    GROUP BY 1, 2, 3, 4, 5
    UNION ALL
    SELECT date, user_code, share_code, click_target, click_category, 0, click_count
    FROM analytics_daily_click_targets
    WHERE user_code = ANY(%(suspect_user_codes)s::text[])
      AND date >= %(start_day)s AND date < %(end_day)s
) AS both_sides
GROUP BY date, user_code, share_code, click_target, click_category
HAVING sum(expected) <> sum(actual) OR sum(expected) = 0
