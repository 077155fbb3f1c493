-- Both sides per day, user code and share code, in one row each: what the raw rows give
-- (expected_activity) and what the daily tables hold (daily_shares), for the group stats check
-- and the page and click-target screens. (share_key, no_share): see
-- collect_expected_activity.sql.
CREATE TEMP TABLE compared_shares ON COMMIT DROP AS
SELECT date, user_code, CASE WHEN NOT no_share THEN share_key END AS share_code,
       e.sessions IS NOT NULL AS in_raw, coalesce(d.grouped, false) AS grouped,
       coalesce(e.sessions, 0) AS sessions, coalesce(e.page_views, 0) AS page_views,
       coalesce(e.clicks, 0) AS clicks,
       coalesce(e.page_types, 0) AS page_types, coalesce(e.targets, 0) AS targets,
       coalesce(d.group_sessions, 0) AS group_sessions,
       coalesce(d.group_page_views, 0) AS group_page_views,
       coalesce(d.group_clicks, 0) AS group_clicks,
       coalesce(d.page_views, 0) AS page_stats_views,
       coalesce(d.page_types, 0) AS page_stats_types,
       coalesce(d.page_stats_not_counting, false) AS page_stats_not_counting,
       coalesce(d.clicks, 0) AS click_targets_clicks,
       coalesce(d.targets, 0) AS click_targets_targets,
       coalesce(d.click_targets_not_counting, false) AS click_targets_not_counting
FROM (
    SELECT *, coalesce(share_code, '') AS share_key, share_code IS NULL AS no_share
    FROM expected_activity
) AS e
FULL JOIN (
    SELECT *, coalesce(share_code, '') AS share_key, share_code IS NULL AS no_share
    FROM daily_shares
) AS d USING (date, user_code, share_key, no_share)
