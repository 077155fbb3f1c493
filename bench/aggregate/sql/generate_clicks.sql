-- The clicks of the day's generated sessions.
INSERT INTO analytics_clicks
    (id, session_id, user_code, share_code, contact_id, click_target, click_category, clicked_at,
     received_at)
SELECT uuidv7(), s.session_id, s.user_code, s.share_code, NULL,
       (ARRAY['phone', 'email', 'whatsapp', 'website', 'linkedin'])[1 + t],
       (ARRAY['contact', 'contact', 'contact', NULL, 'social'])[1 + t],
       s.first_seen + make_interval(secs => k * 20 + 7),
       s.first_seen + make_interval(secs => k * 20 + 8)
FROM analytics_sessions AS s
CROSS JOIN LATERAL generate_series(0, s.clicks - 1) AS k
CROSS JOIN LATERAL (SELECT abs(hashint4(k * 31 + length(s.session_id))) %% 5 AS t) AS target
WHERE s.first_seen >= %(day)s::timestamp AT TIME ZONE 'UTC'
  AND s.first_seen < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'
  AND s.user_agent = 'bench'
ORDER BY s.first_seen, k
