-- The page views of the day's generated sessions (their counters say how many).
INSERT INTO analytics_page_views
    (id, session_id, user_code, share_code, contact_id, page_type, viewed_at, received_at)
SELECT uuidv7(), s.session_id, s.user_code, s.share_code, NULL,
       (ARRAY['home', 'contact', 'portfolio', 'about'])[1 + abs(hashint4(k + length(s.session_id))) %% 4],
       s.first_seen + make_interval(secs => k * 20),
       s.first_seen + make_interval(secs => k * 20 + 1)
FROM analytics_sessions AS s
CROSS JOIN LATERAL generate_series(0, s.page_views - 1) AS k
WHERE s.first_seen >= %(day)s::timestamp AT TIME ZONE 'UTC'
  AND s.first_seen < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'
  AND s.user_agent = 'bench'
ORDER BY s.first_seen, k
