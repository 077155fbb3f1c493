-- A user code's daily rows in a date range; row-level security drops those of other owners.
SELECT date, total_sessions, total_page_views, total_clicks, unique_share_codes,
       clik_day_is_provisional(date, computed_at) AS provisional
FROM analytics_daily_user_stats
WHERE user_code = %(user_code)s AND date >= %(first)s AND date < %(until)s
ORDER BY date
