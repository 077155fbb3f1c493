-- The screen of page_stats_match_raw_page_views, per day, user code and share code: the page
-- stats' view_count summed, and weighted by the 32-bit hash of their page type
-- (daily_shares), must equal the raw page views counted and their page types' hashes summed
-- (expected_page_views). A count moved between page types, or a row of a page type without
-- raw rows, changes the weighted sum by (count x hash): differences cancel only if hashes
-- happen to (about once in 2^32); a row counting zero or less is a suspect by itself. Returns
-- the days and user codes that select_page_stats_mismatches.sql then compares exactly.
SELECT DISTINCT date, user_code
FROM (
    SELECT date, user_code, share_code
    FROM (
        SELECT date, user_code, share_code, views, page_types, false AS not_counting
        FROM expected_page_views
        UNION ALL
        SELECT date, user_code, share_code, -page_views, -page_types, page_stats_not_counting
        FROM daily_shares
    ) AS both_sides
    GROUP BY date, user_code, share_code
    HAVING sum(views) <> 0 OR sum(page_types) <> 0 OR bool_or(not_counting)
) AS differing
ORDER BY date, user_code
