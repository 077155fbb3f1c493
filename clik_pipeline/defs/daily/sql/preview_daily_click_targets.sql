SELECT date, user_code, share_code, click_target, click_category, click_count
FROM (
    SELECT *, row_number() OVER (PARTITION BY date ORDER BY click_count DESC, user_code, click_target) AS rank
    FROM analytics_daily_click_targets
    WHERE date >= %(start_day)s AND date < %(end_day)s
) AS ranked
WHERE rank <= %(rows_per_day)s
ORDER BY date, rank
