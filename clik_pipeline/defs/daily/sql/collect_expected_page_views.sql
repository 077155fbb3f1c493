-- One day's page views (viewed_at in [day_start, day_end), the UTC day): one pass over that
-- day's partition, the day a constant, not computed per row. 32-bit hashes (hashtext) of the
-- page type and the session id, summed.
INSERT INTO expected_page_views
SELECT %(day)s::date, user_code, share_code, count(*),
       sum(hashtext(page_type)), sum(hashtext(session_id))
FROM analytics_page_views
WHERE viewed_at >= %(day_start)s AND viewed_at < %(day_end)s
GROUP BY user_code, share_code
