-- Clicks per click target and category over a date range.
SELECT click_target, click_category, sum(click_count)::bigint AS click_count
FROM analytics_daily_click_targets
WHERE user_code = %(user_code)s AND date >= %(first)s AND date < %(until)s
GROUP BY click_target, click_category
ORDER BY click_count DESC, click_target, click_category NULLS LAST
