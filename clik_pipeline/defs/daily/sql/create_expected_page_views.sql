-- Page views per day, user code and the row's own share code (collect_expected_page_views.sql).
CREATE TEMP TABLE expected_page_views (
    date            date,
    user_code       text,
    share_code      text,
    views           bigint,
    -- page_stats_match_raw_page_views: the sum of the hashes of the rows' page types
    page_types      bigint,
    -- session_counters_match_events: the sum of the hashes of the rows' session ids
    session_weights bigint
) ON COMMIT DROP
