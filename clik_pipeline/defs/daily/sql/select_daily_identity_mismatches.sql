-- The daily tables against each other, per user code and day: the user stats equal the sums
-- of the group stats (and their share codes are the group stats' non-null share codes), their
-- page views the sum of the page stats, their clicks the sum of the click targets (those sums
-- from daily_shares, the daily tables rolled up per share code). A table is compared only on
-- the days listed for it (days it holds a materialization of).
WITH users AS (
    SELECT date, user_code, total_sessions, total_page_views, total_clicks, unique_share_codes
    FROM analytics_daily_user_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
), others AS (
    SELECT date, user_code, sum(group_sessions) AS sessions,
           sum(group_page_views) AS group_page_views, sum(group_clicks) AS group_clicks,
           coalesce(array_agg(share_code ORDER BY share_code)
                        FILTER (WHERE grouped AND share_code IS NOT NULL), '{}') AS share_codes,
           sum(page_views) AS page_views, sum(clicks) AS clicks
    FROM daily_shares
    GROUP BY date, user_code
)
SELECT date, user_code, m.measure, m.expected, m.actual, m.difference
FROM users AS u
FULL JOIN others AS o USING (date, user_code)
CROSS JOIN LATERAL (VALUES
    ('total_sessions against analytics_daily_group_stats', date = ANY(%(group_days)s::date[]),
        coalesce(o.sessions, 0)::text, coalesce(u.total_sessions, 0)::text,
        abs(coalesce(o.sessions, 0) - coalesce(u.total_sessions, 0))::bigint),
    ('total_page_views against analytics_daily_group_stats', date = ANY(%(group_days)s::date[]),
        coalesce(o.group_page_views, 0)::text, coalesce(u.total_page_views, 0)::text,
        abs(coalesce(o.group_page_views, 0) - coalesce(u.total_page_views, 0))::bigint),
    ('total_clicks against analytics_daily_group_stats', date = ANY(%(group_days)s::date[]),
        coalesce(o.group_clicks, 0)::text, coalesce(u.total_clicks, 0)::text,
        abs(coalesce(o.group_clicks, 0) - coalesce(u.total_clicks, 0))::bigint),
    ('unique_share_codes against analytics_daily_group_stats',
        date = ANY(%(group_days)s::date[]),
        coalesce(o.share_codes, '{}')::text, coalesce(u.unique_share_codes, '{}')::text,
        (SELECT count(*) FROM (
             (SELECT unnest(o.share_codes) EXCEPT SELECT unnest(u.unique_share_codes))
             UNION ALL
             (SELECT unnest(u.unique_share_codes) EXCEPT SELECT unnest(o.share_codes))
         ) AS differing)),
    ('total_page_views against analytics_daily_page_stats', date = ANY(%(page_days)s::date[]),
        coalesce(o.page_views, 0)::text, coalesce(u.total_page_views, 0)::text,
        abs(coalesce(o.page_views, 0) - coalesce(u.total_page_views, 0))::bigint),
    ('total_clicks against analytics_daily_click_targets', date = ANY(%(click_days)s::date[]),
        coalesce(o.clicks, 0)::text, coalesce(u.total_clicks, 0)::text,
        abs(coalesce(o.clicks, 0) - coalesce(u.total_clicks, 0))::bigint)
) AS m(measure, compared, expected, actual, difference)
-- Only the user codes that differ somewhere are spelled out measure by measure.
WHERE (u.user_code IS NULL OR o.user_code IS NULL
       OR o.sessions <> u.total_sessions OR o.group_page_views <> u.total_page_views
       OR o.group_clicks <> u.total_clicks OR o.share_codes <> u.unique_share_codes
       OR o.page_views <> u.total_page_views OR o.clicks <> u.total_clicks)
  AND m.compared AND m.expected <> m.actual
