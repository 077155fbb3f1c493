-- What retention removes for one day, done with plain DELETEs (the comparison): the day's
-- events, then its sessions that have no event left after it.
DELETE FROM analytics_page_views
WHERE viewed_at >= %(day)s::timestamp AT TIME ZONE 'UTC'
  AND viewed_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'
