-- Clicks per day, user code and the row's own share code (collect_expected_clicks.sql).
CREATE TEMP TABLE expected_clicks (
    date            date,
    user_code       text,
    share_code      text,
    clicks          bigint,
    -- click_targets_match_raw_clicks: the sum of the hashes of the rows' (target, category)
    targets         bigint,
    -- session_counters_match_events: the sum of the hashes of the rows' session ids
    session_weights bigint
) ON COMMIT DROP
