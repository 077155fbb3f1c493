-- The screen of click_targets_match_raw_clicks, per day, user code and share code, as
-- select_page_stats_suspects.sql does for page types: click_count summed, and weighted by the
-- 32-bit hash of (click_target, click_category) (daily_shares), against the raw clicks
-- (expected_clicks).
SELECT DISTINCT date, user_code
FROM (
    SELECT date, user_code, share_code
    FROM (
        SELECT date, user_code, share_code, clicks, targets, false AS not_counting
        FROM expected_clicks
        UNION ALL
        SELECT date, user_code, share_code, -clicks, -targets, click_targets_not_counting
        FROM daily_shares
    ) AS both_sides
    GROUP BY date, user_code, share_code
    HAVING sum(clicks) <> 0 OR sum(targets) <> 0 OR bool_or(not_counting)
) AS differing
ORDER BY date, user_code
