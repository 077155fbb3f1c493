-- A day's page views received up to `until`, and the latest receive time among them: the
-- starting point its count then grows from, window by window. Reads the day's own partition
-- (a sequential scan: every row of it is that day's).
SELECT count(*) AS rows, max(received_at) AS last_received
FROM analytics_page_views
WHERE viewed_at >= %(day)s::timestamp AT TIME ZONE 'UTC'
  AND viewed_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'
  AND received_at <= %(until)s
