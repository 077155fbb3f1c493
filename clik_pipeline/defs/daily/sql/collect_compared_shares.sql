-- Both sides per day, user code and share code: what the raw rows give (expected_activity) and
-- what the daily tables hold (daily_shares), in one row each, for the group stats check and the
-- page and click-target screens. GROUP BY puts missing share codes together, as the tables'
-- NULLS NOT DISTINCT keys do.
CREATE TEMP TABLE compared_shares ON COMMIT DROP AS
SELECT date, user_code, share_code,
       bool_or(in_raw) AS in_raw, coalesce(bool_or(grouped), false) AS grouped,
       coalesce(sum(sessions), 0) AS sessions, coalesce(sum(page_views), 0) AS page_views,
       coalesce(sum(clicks), 0) AS clicks,
       coalesce(sum(page_types), 0) AS page_types, coalesce(sum(targets), 0) AS targets,
       coalesce(sum(group_sessions), 0) AS group_sessions,
       coalesce(sum(group_page_views), 0) AS group_page_views,
       coalesce(sum(group_clicks), 0) AS group_clicks,
       coalesce(sum(page_stats_views), 0) AS page_stats_views,
       coalesce(sum(page_stats_types), 0) AS page_stats_types,
       coalesce(bool_or(page_stats_not_counting), false) AS page_stats_not_counting,
       coalesce(sum(click_targets_clicks), 0) AS click_targets_clicks,
       coalesce(sum(click_targets_targets), 0) AS click_targets_targets,
       coalesce(bool_or(click_targets_not_counting), false) AS click_targets_not_counting
FROM (
    SELECT date, user_code, share_code, true AS in_raw, NULL::boolean AS grouped,
           sessions, page_views, clicks, page_types, targets,
           NULL::bigint AS group_sessions, NULL::bigint AS group_page_views,
           NULL::bigint AS group_clicks, NULL::bigint AS page_stats_views,
           NULL::numeric AS page_stats_types, NULL::boolean AS page_stats_not_counting,
           NULL::bigint AS click_targets_clicks, NULL::numeric AS click_targets_targets,
           NULL::boolean AS click_targets_not_counting
    FROM expected_activity
    UNION ALL
    SELECT date, user_code, share_code, false, grouped, NULL, NULL, NULL, NULL, NULL,
           group_sessions, group_page_views, group_clicks,
           page_views, page_types, page_stats_not_counting,
           clicks, targets, click_targets_not_counting
    FROM daily_shares
) AS both_sides
GROUP BY date, user_code, share_code
