-- Sessions that ran past the end of the day they started on (collect_crossing_sessions.sql):
-- their events on later days belong to their own day's counters.
CREATE TEMP TABLE crossing_sessions (
    first_day  date,
    session_id text,
    last_seen  timestamptz
) ON COMMIT DROP
