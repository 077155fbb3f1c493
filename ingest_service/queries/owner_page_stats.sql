-- Page views per page type over a date range.
SELECT page_type, sum(view_count)::bigint AS view_count
FROM analytics_daily_page_stats
WHERE user_code = %(user_code)s AND date >= %(first)s AND date < %(until)s
GROUP BY page_type
ORDER BY view_count DESC, page_type
