-- The three collections rolled up per day, user code and share code (the rows' own): what the
-- group stats must hold (and, summed per user code, the user stats), the page types' and click
-- targets' hash sums, and both sides of the session counters. NULL, not 0, where a collection
-- has no such column: sum() skips it.
CREATE TEMP TABLE expected_activity ON COMMIT DROP AS
SELECT date, user_code, share_code,
       coalesce(sum(sessions), 0) AS sessions, coalesce(sum(page_views), 0) AS page_views,
       coalesce(sum(clicks), 0) AS clicks,
       coalesce(sum(page_types), 0) AS page_types, coalesce(sum(targets), 0) AS targets,
       coalesce(sum(weighted_page_views), 0) AS weighted_page_views,
       coalesce(sum(weighted_clicks), 0) AS weighted_clicks,
       coalesce(sum(page_view_weights), 0) AS page_view_weights,
       coalesce(sum(click_weights), 0) AS click_weights
FROM (
    SELECT date, user_code, share_code, sessions, NULL::bigint AS page_views,
           NULL::bigint AS clicks, NULL::bigint AS page_types, NULL::bigint AS targets,
           weighted_page_views, weighted_clicks,
           NULL::bigint AS page_view_weights, NULL::bigint AS click_weights
    FROM expected_sessions
    UNION ALL
    SELECT date, user_code, share_code, NULL, views, NULL, page_types, NULL, NULL, NULL,
           session_weights, NULL
    FROM expected_page_views
    UNION ALL
    SELECT date, user_code, share_code, NULL, NULL, clicks, NULL, targets, NULL, NULL,
           NULL, session_weights
    FROM expected_clicks
) AS activity
GROUP BY date, user_code, share_code
