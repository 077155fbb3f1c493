-- analytics_daily_group_stats against the raw rows, split by the rows' own share code: both
-- sides per day, user code and share code from compared_shares.
SELECT date, user_code,
       format('%%s of share_code %%s', measure, coalesce(share_code, '(none)')) AS measure,
       expected, actual, difference
FROM compared_shares
CROSS JOIN LATERAL (VALUES
    ('row', CASE WHEN in_raw THEN 'present' ELSE 'absent' END,
            CASE WHEN grouped THEN 'present' ELSE 'absent' END, 0::bigint),
    ('total_sessions', sessions::text, group_sessions::text,
        abs(sessions - group_sessions)::bigint),
    ('total_page_views', page_views::text, group_page_views::text,
        abs(page_views - group_page_views)::bigint),
    ('total_clicks', clicks::text, group_clicks::text, abs(clicks - group_clicks)::bigint)
) AS m(measure, expected, actual, difference)
-- Only the groups that differ are spelled out measure by measure (rows with neither raw rows
-- nor a group stats row are another table's).
WHERE (in_raw OR grouped)
  AND NOT (in_raw AND grouped AND sessions = group_sessions
           AND page_views = group_page_views AND clicks = group_clicks)
  AND m.expected <> m.actual
