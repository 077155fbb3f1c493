-- The daily tables against each other, per user code and day: the user stats equal the sums
-- of the group stats (and their share codes are the group stats' non-null share codes), their
-- page views the sum of the page stats, their clicks the sum of the click targets. A table is
-- compared only on the days listed for it (days it holds a materialization of).
WITH users AS (
    SELECT date, user_code, total_sessions, total_page_views, total_clicks, unique_share_codes
    FROM analytics_daily_user_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
), groups AS (
    SELECT date, user_code, sum(total_sessions) AS sessions,
           sum(total_page_views) AS page_views, sum(total_clicks) AS clicks,
           coalesce(array_agg(share_code ORDER BY share_code)
                        FILTER (WHERE share_code IS NOT NULL), '{}') AS share_codes
    FROM analytics_daily_group_stats
    WHERE date = ANY(%(group_days)s::date[])
    GROUP BY date, user_code
), pages AS (
    SELECT date, user_code, sum(view_count) AS page_views
    FROM analytics_daily_page_stats
    WHERE date = ANY(%(page_days)s::date[])
    GROUP BY date, user_code
), clicks AS (
    SELECT date, user_code, sum(click_count) AS clicks
    FROM analytics_daily_click_targets
    WHERE date = ANY(%(click_days)s::date[])
    GROUP BY date, user_code
), user_days AS (
    SELECT date, user_code FROM users
    UNION SELECT date, user_code FROM groups
    UNION SELECT date, user_code FROM pages
    UNION SELECT date, user_code FROM clicks
)
SELECT date, user_code, m.measure, m.expected, m.actual, m.difference
FROM user_days
LEFT JOIN users AS u USING (date, user_code)
LEFT JOIN groups AS g USING (date, user_code)
LEFT JOIN pages AS p USING (date, user_code)
LEFT JOIN clicks AS c USING (date, user_code)
CROSS JOIN LATERAL (VALUES
    ('total_sessions against analytics_daily_group_stats', date = ANY(%(group_days)s::date[]),
        coalesce(g.sessions, 0)::text, coalesce(u.total_sessions, 0)::text,
        abs(coalesce(g.sessions, 0) - coalesce(u.total_sessions, 0))::bigint),
    ('total_page_views against analytics_daily_group_stats', date = ANY(%(group_days)s::date[]),
        coalesce(g.page_views, 0)::text, coalesce(u.total_page_views, 0)::text,
        abs(coalesce(g.page_views, 0) - coalesce(u.total_page_views, 0))::bigint),
    ('total_clicks against analytics_daily_group_stats', date = ANY(%(group_days)s::date[]),
        coalesce(g.clicks, 0)::text, coalesce(u.total_clicks, 0)::text,
        abs(coalesce(g.clicks, 0) - coalesce(u.total_clicks, 0))::bigint),
    ('unique_share_codes against analytics_daily_group_stats',
        date = ANY(%(group_days)s::date[]),
        coalesce(g.share_codes, '{}')::text, coalesce(u.unique_share_codes, '{}')::text,
        (SELECT count(*) FROM (
             (SELECT unnest(g.share_codes) EXCEPT SELECT unnest(u.unique_share_codes))
             UNION ALL
             (SELECT unnest(u.unique_share_codes) EXCEPT SELECT unnest(g.share_codes))
         ) AS differing)),
    ('total_page_views against analytics_daily_page_stats', date = ANY(%(page_days)s::date[]),
        coalesce(p.page_views, 0)::text, coalesce(u.total_page_views, 0)::text,
        abs(coalesce(p.page_views, 0) - coalesce(u.total_page_views, 0))::bigint),
    ('total_clicks against analytics_daily_click_targets', date = ANY(%(click_days)s::date[]),
        coalesce(c.clicks, 0)::text, coalesce(u.total_clicks, 0)::text,
        abs(coalesce(c.clicks, 0) - coalesce(u.total_clicks, 0))::bigint)
) AS m(measure, compared, expected, actual, difference)
WHERE m.compared AND m.expected <> m.actual
