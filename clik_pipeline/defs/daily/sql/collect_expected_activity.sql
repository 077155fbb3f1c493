-- The three collections side by side per day, user code and share code (the rows' own): what
-- the group stats must hold (and, summed per user code, the user stats), the page types' and
-- click targets' hash sums, and both sides of the session counters. Each collection has at most
-- one row per key, so they are joined, not grouped again; (share_key, no_share) is the share
-- code as an equality that hash joins can use (a missing one is its own value).
CREATE TEMP TABLE expected_activity ON COMMIT DROP AS
SELECT date, user_code, CASE WHEN NOT no_share THEN share_key END AS share_code,
       coalesce(s.sessions, 0) AS sessions, coalesce(v.views, 0) AS page_views,
       coalesce(c.clicks, 0) AS clicks,
       coalesce(v.page_types, 0) AS page_types, coalesce(c.targets, 0) AS targets,
       coalesce(s.weighted_page_views, 0) AS weighted_page_views,
       coalesce(s.weighted_clicks, 0) AS weighted_clicks,
       coalesce(v.session_weights, 0) AS page_view_weights,
       coalesce(c.session_weights, 0) AS click_weights
FROM (
    SELECT date, user_code, coalesce(share_code, '') AS share_key, share_code IS NULL AS no_share,
           sessions, weighted_page_views, weighted_clicks
    FROM expected_sessions
) AS s
FULL JOIN (
    SELECT date, user_code, coalesce(share_code, '') AS share_key, share_code IS NULL AS no_share,
           views, page_types, session_weights
    FROM expected_page_views
) AS v USING (date, user_code, share_key, no_share)
FULL JOIN (
    SELECT date, user_code, coalesce(share_code, '') AS share_key, share_code IS NULL AS no_share,
           clicks, targets, session_weights
    FROM expected_clicks
) AS c USING (date, user_code, share_key, no_share)
