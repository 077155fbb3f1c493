-- The daily tables of the range as they are, rolled up per day, user code and share code: the
-- group stats row (if any), and the page stats and click targets summed, and weighted by the
-- 32-bit hash of their page type / (click_target, click_category) (the expressions of
-- collect_expected_page_views.sql and collect_expected_clicks.sql), with whether any of their
-- rows counts zero or less. What the identity check and the group, page and click-target
-- checks compare (the last two against the same sums of the raw rows).
CREATE TEMP TABLE daily_shares ON COMMIT DROP AS
SELECT date, user_code, share_code,
       coalesce(bool_or(grouped), false) AS grouped,
       coalesce(sum(total_sessions), 0) AS group_sessions,
       coalesce(sum(total_page_views), 0) AS group_page_views,
       coalesce(sum(total_clicks), 0) AS group_clicks,
       coalesce(sum(view_count), 0) AS page_views,
       coalesce(sum(view_count * page_type_hash), 0) AS page_types,
       coalesce(bool_or(view_count <= 0), false) AS page_stats_not_counting,
       coalesce(sum(click_count), 0) AS clicks,
       coalesce(sum(click_count * target_hash), 0) AS targets,
       coalesce(bool_or(click_count <= 0), false) AS click_targets_not_counting
FROM (
    SELECT date, user_code, share_code, true AS grouped,
           total_sessions, total_page_views, total_clicks,
           NULL::bigint AS view_count, NULL::integer AS page_type_hash,
           NULL::bigint AS click_count, NULL::integer AS target_hash
    FROM analytics_daily_group_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
    UNION ALL
    SELECT date, user_code, share_code, NULL, NULL, NULL, NULL,
           view_count, hashtext(page_type), NULL, NULL
    FROM analytics_daily_page_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
    UNION ALL
    SELECT date, user_code, share_code, NULL, NULL, NULL, NULL, NULL, NULL,
           click_count,
           (hashtextextended(click_target, coalesce(hashtext(click_category), 0)) >> 32)::integer
    FROM analytics_daily_click_targets
    WHERE date >= %(start_day)s AND date < %(end_day)s
) AS daily_rows
GROUP BY date, user_code, share_code
