SELECT d.date, r.user_code, r.share_code, r.click_target, r.click_category, r.click_count
FROM (
    SELECT generate_series(%(start_day)s::date, %(end_day)s::date - 1, interval '1 day')::date
        AS date
) AS d
CROSS JOIN LATERAL (
    SELECT *
    FROM analytics_daily_click_targets AS t
    WHERE t.date = d.date
    ORDER BY click_count DESC, user_code, click_target
    LIMIT %(rows_per_day)s
) AS r
ORDER BY d.date, r.click_count DESC, r.user_code, r.click_target
