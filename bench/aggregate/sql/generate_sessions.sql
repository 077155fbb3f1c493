-- One day of sessions, generated in the server: `sessions` of them spread evenly over the day
-- (the last ones run past midnight), user codes and share codes drawn deterministically with
-- hashint4, and counters set to the events generate_page_views/clicks.sql add (the counter
-- triggers are off while generating: session_replication_role = replica).
-- Per session: 1-8 page views (4.5 on average), 0-5 clicks (2.2 on average), 20 s apart.
INSERT INTO analytics_sessions
    (session_id, user_code, share_code, contact_id, first_seen, last_seen, page_views, clicks,
     user_agent, referrer, received_at)
SELECT session_id, user_code, share_code, NULL, first_seen,
       first_seen + make_interval(secs => greatest((page_views - 1) * 20, (clicks - 1) * 20 + 7)),
       page_views, clicks, 'bench', NULL, first_seen + interval '1 second'
FROM (
    SELECT 'b' || to_char(%(day)s::date, 'YYYYMMDD') || '-' || i AS session_id,
           'user-' || lpad((abs(hashint4(i)) %% %(user_codes)s)::text, 6, '0') AS user_code,
           (ARRAY[NULL, 'qr', 'nfc', 'email-signature', 'linkedin'])[1 + abs(hashint4(i + 1)) %% 5]
               AS share_code,
           %(day)s::timestamp AT TIME ZONE 'UTC'
               + make_interval(secs => (i - 1) * 86400.0 / %(sessions)s) AS first_seen,
           1 + abs(hashint4(i + 2)) %% 8 AS page_views,
           abs(hashint4(i + 3)) %% 5 + (abs(hashint4(i + 4)) %% 5 = 0)::int AS clicks
    FROM generate_series(1, %(sessions)s) AS i
) AS generated
