-- The first UTC day holding raw rows. Every event has its session, whose first_seen is at or
-- before the event (the counter triggers widen it), so the sessions' first_seen index answers.
SELECT (min(first_seen) AT TIME ZONE 'UTC')::date AS earliest FROM analytics_sessions
