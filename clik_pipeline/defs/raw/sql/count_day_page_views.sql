-- All page views of one day, from its raw partition.
SELECT count(*) AS page_views
FROM analytics_page_views
WHERE viewed_at >= %(day)s::timestamp AT TIME ZONE 'UTC'
  AND viewed_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'
