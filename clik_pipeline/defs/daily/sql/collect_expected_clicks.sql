-- One day's clicks (clicked_at in [day_start, day_end), the UTC day): one pass over that day's
-- partition, the day a constant, not computed per row. 32-bit hashes of (click_target,
-- click_category) (the expression of collect_daily_shares.sql) and of the session id, summed.
INSERT INTO expected_clicks
SELECT %(day)s::date, user_code, share_code, count(*),
       sum((hashtextextended(click_target, coalesce(hashtext(click_category), 0)) >> 32)::integer),
       sum(hashtext(session_id))
FROM analytics_clicks
WHERE clicked_at >= %(day_start)s AND clicked_at < %(day_end)s
GROUP BY user_code, share_code
