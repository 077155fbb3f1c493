-- analytics_daily_user_stats against the raw rows: totals per user code and day, and the sorted
-- distinct non-null share codes among that day's sessions, page views and clicks (the share
-- codes of expected_activity, one row each per day and user code).
WITH expected AS (
    SELECT date, user_code, sum(sessions) AS sessions, sum(page_views) AS page_views,
           sum(clicks) AS clicks,
           coalesce(array_agg(share_code ORDER BY share_code)
                        FILTER (WHERE share_code IS NOT NULL), '{}') AS share_codes
    FROM expected_activity
    GROUP BY date, user_code
), actual AS (
    SELECT date, user_code, total_sessions, total_page_views, total_clicks, unique_share_codes
    FROM analytics_daily_user_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
)
SELECT date, user_code, m.measure, m.expected, m.actual, m.difference
FROM expected AS e
FULL JOIN actual AS a USING (date, user_code)
CROSS JOIN LATERAL (VALUES
    ('row', CASE WHEN e.user_code IS NULL THEN 'absent' ELSE 'present' END,
            CASE WHEN a.user_code IS NULL THEN 'absent' ELSE 'present' END, 0::bigint),
    ('total_sessions', coalesce(e.sessions, 0)::text, coalesce(a.total_sessions, 0)::text,
        abs(coalesce(e.sessions, 0) - coalesce(a.total_sessions, 0))::bigint),
    ('total_page_views', coalesce(e.page_views, 0)::text, coalesce(a.total_page_views, 0)::text,
        abs(coalesce(e.page_views, 0) - coalesce(a.total_page_views, 0))::bigint),
    ('total_clicks', coalesce(e.clicks, 0)::text, coalesce(a.total_clicks, 0)::text,
        abs(coalesce(e.clicks, 0) - coalesce(a.total_clicks, 0))::bigint),
    ('unique_share_codes', coalesce(e.share_codes, '{}')::text,
        coalesce(a.unique_share_codes, '{}')::text,
        CASE WHEN coalesce(e.share_codes, '{}') = coalesce(a.unique_share_codes, '{}') THEN 0
             ELSE (SELECT count(*) FROM (
                       (SELECT unnest(e.share_codes) EXCEPT SELECT unnest(a.unique_share_codes))
                       UNION ALL
                       (SELECT unnest(a.unique_share_codes) EXCEPT SELECT unnest(e.share_codes))
                   ) AS differing)
        END)
) AS m(measure, expected, actual, difference)
-- Only the rows that differ are spelled out measure by measure.
WHERE (e.user_code IS NULL OR a.user_code IS NULL OR e.sessions <> a.total_sessions
       OR e.page_views <> a.total_page_views OR e.clicks <> a.total_clicks
       OR e.share_codes <> a.unique_share_codes)
  AND m.expected <> m.actual
