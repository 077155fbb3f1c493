-- The seed's "NEW SYSTEM - Dashboard Query", verbatim: the same figures from the daily table.
SELECT
  user_code,
  SUM(total_page_views),
  SUM(total_clicks)
FROM analytics_daily_user_stats
WHERE user_code = 'myclik'
  AND date >= CURRENT_DATE - INTERVAL '30 days'
GROUP BY user_code
