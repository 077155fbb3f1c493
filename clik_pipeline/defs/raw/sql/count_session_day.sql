-- The sessions that started on a day, as they are now (a session's day can move), and the
-- latest receive time among them; through the index on first_seen. A session day is
-- recounted whenever a session row touches it, so it needs no `until`.
SELECT count(*) AS rows, max(received_at) AS last_received
FROM analytics_sessions
WHERE first_seen >= %(day)s::timestamp AT TIME ZONE 'UTC'
  AND first_seen < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'
