-- The daily tables of the range as they are, per day, user code and share code: the group
-- stats row (if any), and the page stats and click targets summed, and weighted by the 32-bit
-- hash of their page type / (click_target, click_category) (the expressions of
-- collect_expected_page_views.sql and collect_expected_clicks.sql), with whether any of their
-- rows counts zero or less. What the identity check compares, and, against the same sums of
-- the raw rows, the group, page and click-target checks. (share_key, no_share): see
-- collect_expected_activity.sql.
CREATE TEMP TABLE daily_shares ON COMMIT DROP AS
SELECT date, user_code, CASE WHEN NOT no_share THEN share_key END AS share_code,
       g.grouped IS NOT NULL AS grouped,
       coalesce(g.total_sessions, 0) AS group_sessions,
       coalesce(g.total_page_views, 0) AS group_page_views,
       coalesce(g.total_clicks, 0) AS group_clicks,
       coalesce(p.views, 0) AS page_views, coalesce(p.page_types, 0) AS page_types,
       coalesce(p.not_counting, false) AS page_stats_not_counting,
       coalesce(c.clicks, 0) AS clicks, coalesce(c.targets, 0) AS targets,
       coalesce(c.not_counting, false) AS click_targets_not_counting
FROM (
    SELECT date, user_code, coalesce(share_code, '') AS share_key, share_code IS NULL AS no_share,
           true AS grouped, total_sessions, total_page_views, total_clicks
    FROM analytics_daily_group_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
) AS g
FULL JOIN (
    SELECT date, user_code, coalesce(share_code, '') AS share_key, share_code IS NULL AS no_share,
           sum(view_count)::bigint AS views,
           sum(view_count::bigint * hashtext(page_type))::bigint AS page_types,
           bool_or(view_count <= 0) AS not_counting
    FROM analytics_daily_page_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
    GROUP BY 1, 2, 3, 4
) AS p USING (date, user_code, share_key, no_share)
FULL JOIN (
    SELECT date, user_code, coalesce(share_code, '') AS share_key, share_code IS NULL AS no_share,
           sum(click_count)::bigint AS clicks,
           sum(click_count::bigint
               * (hashtextextended(click_target, coalesce(hashtext(click_category), 0))
                  >> 32)::integer)::bigint AS targets,
           bool_or(click_count <= 0) AS not_counting
    FROM analytics_daily_click_targets
    WHERE date >= %(start_day)s AND date < %(end_day)s
    GROUP BY 1, 2, 3, 4
) AS c USING (date, user_code, share_key, no_share)
