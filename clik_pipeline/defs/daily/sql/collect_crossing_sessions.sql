-- One day's sessions (first_seen in [day_start, day_end)) that ran past its end, for each day
-- of the range and the day before it (its sessions can have events on the range's first day).
INSERT INTO crossing_sessions
SELECT %(day)s::date, session_id, last_seen
FROM analytics_sessions
WHERE first_seen >= %(day_start)s AND first_seen < %(day_end)s AND last_seen >= %(day_end)s
