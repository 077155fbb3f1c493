-- The day's sessions that have no event left after it.
DELETE FROM analytics_sessions
WHERE first_seen >= %(day)s::timestamp AT TIME ZONE 'UTC'
  AND last_seen < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'
