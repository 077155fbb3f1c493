-- analytics_daily_group_stats (daily_shares) against the raw rows, split by the rows' own share
-- code (expected_activity). GROUP BY puts missing share codes together, as the table's NULLS
-- NOT DISTINCT key does.
WITH both_sides AS (
    SELECT date, user_code, share_code,
           sum(expected_sessions) AS expected_sessions, sum(actual_sessions) AS actual_sessions,
           sum(expected_page_views) AS expected_page_views,
           sum(actual_page_views) AS actual_page_views,
           sum(expected_clicks) AS expected_clicks, sum(actual_clicks) AS actual_clicks,
           bool_or(in_raw) AS in_raw, bool_or(in_daily) AS in_daily
    FROM (
        SELECT date, user_code, share_code, sessions AS expected_sessions,
               page_views AS expected_page_views, clicks AS expected_clicks,
               0 AS actual_sessions, 0 AS actual_page_views, 0 AS actual_clicks,
               true AS in_raw, false AS in_daily
        FROM expected_activity
        UNION ALL
        SELECT date, user_code, share_code, 0, 0, 0,
               group_sessions, group_page_views, group_clicks, false, true
        FROM daily_shares
        WHERE grouped
    ) AS rows
    GROUP BY date, user_code, share_code
)
SELECT date, user_code,
       format('%%s of share_code %%s', measure, coalesce(share_code, '(none)')) AS measure,
       expected, actual, difference
FROM both_sides
CROSS JOIN LATERAL (VALUES
    ('row', CASE WHEN in_raw THEN 'present' ELSE 'absent' END,
            CASE WHEN in_daily THEN 'present' ELSE 'absent' END, 0::bigint),
    ('total_sessions', expected_sessions::text, actual_sessions::text,
        abs(expected_sessions - actual_sessions)::bigint),
    ('total_page_views', expected_page_views::text, actual_page_views::text,
        abs(expected_page_views - actual_page_views)::bigint),
    ('total_clicks', expected_clicks::text, actual_clicks::text,
        abs(expected_clicks - actual_clicks)::bigint)
) AS m(measure, expected, actual, difference)
-- Only the groups that differ are spelled out measure by measure.
WHERE NOT (in_raw AND in_daily AND expected_sessions = actual_sessions
           AND expected_page_views = actual_page_views AND expected_clicks = actual_clicks)
  AND m.expected <> m.actual
