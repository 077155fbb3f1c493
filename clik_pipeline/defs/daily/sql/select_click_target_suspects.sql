-- The screen of click_targets_match_raw_clicks, per day, user code and share code
-- (compared_shares), as select_page_stats_suspects.sql does for page types: click_count
-- summed, and weighted by the 32-bit hash of (click_target, click_category), against the raw
-- clicks.
SELECT DISTINCT date, user_code
FROM compared_shares
WHERE clicks <> click_targets_clicks OR targets <> click_targets_targets
   OR click_targets_not_counting
ORDER BY date, user_code
