-- The day's clicks, with a plain DELETE.
DELETE FROM analytics_clicks
WHERE clicked_at >= %(day)s::timestamp AT TIME ZONE 'UTC'
  AND clicked_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'
