-- The screen of page_stats_match_raw_page_views, per day, user code and share code
-- (compared_shares): the page stats' view_count summed, and weighted by the 32-bit hash of
-- their page type, must equal the raw page views counted and their page types' hashes summed.
-- A count moved between page types, or a row of a page type without raw rows, changes the
-- weighted sum by (count x hash): differences cancel only if hashes happen to (about once in
-- 2^32); a row counting zero or less is a suspect by itself. Returns the days and user codes
-- that select_page_stats_mismatches.sql then compares exactly.
SELECT DISTINCT date, user_code
FROM compared_shares
WHERE page_views <> page_stats_views OR page_types <> page_stats_types
   OR page_stats_not_counting
ORDER BY date, user_code
