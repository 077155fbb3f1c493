-- One day's sessions (first_seen in [day_start, day_end), the UTC day) in one pass, the day a
-- constant, not computed per row: per user code and share code, with the counters weighted by
-- the 32-bit hash of the session id (hashtext): in bigint while the day's page views or clicks
-- of one user code and share code stay below 2^32.
INSERT INTO expected_sessions
SELECT %(day)s::date, user_code, share_code, count(*),
       sum(page_views::bigint * hashtext(session_id))::bigint,
       sum(clicks::bigint * hashtext(session_id))::bigint
FROM analytics_sessions
WHERE first_seen >= %(day_start)s AND first_seen < %(day_end)s
GROUP BY user_code, share_code
