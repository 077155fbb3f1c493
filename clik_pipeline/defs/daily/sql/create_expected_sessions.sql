-- What the checks expect, computed from the raw rows by the checks' own queries (not the
-- refresh functions): one day at a time (collect_expected_sessions.sql), per day, user code and
-- the session's share code.
CREATE TEMP TABLE expected_sessions (
    date                date,
    user_code           text,
    share_code          text,
    sessions            bigint,
    -- session_counters_match_events: the counters weighted by their session id's hash
    weighted_page_views bigint,
    weighted_clicks     bigint
) ON COMMIT DROP
