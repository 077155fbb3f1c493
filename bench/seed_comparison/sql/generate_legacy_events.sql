-- The old system's table at the seed's scale: visitors_per_day visitors a day for `days`
-- days from first_day, five events each (3 or 4 page views and 2 or 1 clicks: the seed's
-- 2:1 mix of views and clicks), one JSONB row per event as the old tracker stored it, on the
-- seed's one card ('myclik') with its three share codes. Deterministic (hashes of the visitor
-- number), except the row ids.
INSERT INTO analytics_events (id, event_type, event_data, created_at)
SELECT gen_random_uuid(),
       CASE WHEN step < views THEN 'view' ELSE 'click' END,
       jsonb_strip_nulls(jsonb_build_object(
           'userCode', 'myclik',
           'sessionId', 'legacy-' || visitor,
           'shareCode', 'qr' || (1 + visitor %% 3),
           'contactId', CASE WHEN visitor %% 5 = 0 THEN 'c-' || (visitor %% 40) END,
           'pageType', CASE WHEN step < views
                            THEN (ARRAY['home', 'contact', 'profile', 'portfolio'])[1 + step] END,
           'clickTarget', CASE WHEN step >= views
                               THEN (ARRAY['phone', 'email', 'whatsapp', 'website', 'linkedin'])
                                    [1 + (visitor + step) %% 5] END,
           'clickCategory', CASE WHEN step >= views
                                 THEN (ARRAY['contact', 'contact', 'contact', 'link', 'social'])
                                      [1 + (visitor + step) %% 5] END,
           'userAgent', (ARRAY[
               'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
               'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
               'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'])
               [1 + visitor %% 3],
           'referrer', CASE WHEN step = 0 AND visitor %% 2 = 0 THEN 'https://www.linkedin.com/' END,
           'timestamp', at_time)),
       at_time
FROM generate_series(0, %(visitors_per_day)s::integer * %(days)s::integer - 1) AS visitor
CROSS JOIN LATERAL (
    SELECT CASE WHEN visitor %% 3 = 0 THEN 4 ELSE 3 END AS views,
           %(first_day)s::timestamptz
               + (visitor / %(visitors_per_day)s::integer) * interval '1 day'
               + (abs(hashint4(visitor)) %% 86000) * interval '1 second' AS start
) AS visit
CROSS JOIN generate_series(0, 4) AS step
CROSS JOIN LATERAL (SELECT visit.start + step * interval '20 seconds' AS at_time) AS moment
