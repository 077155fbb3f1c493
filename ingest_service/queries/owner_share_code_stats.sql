-- Totals per share code (NULL: visits without one) over a date range.
SELECT share_code,
       sum(total_sessions)::bigint AS total_sessions,
       sum(total_page_views)::bigint AS total_page_views,
       sum(total_clicks)::bigint AS total_clicks
FROM analytics_daily_group_stats
WHERE user_code = %(user_code)s AND date >= %(first)s AND date < %(until)s
GROUP BY share_code
ORDER BY total_page_views DESC, total_sessions DESC, share_code NULLS LAST
