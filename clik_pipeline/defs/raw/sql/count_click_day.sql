-- A day's clicks received up to `until`, and the latest receive time among them (see
-- count_page_view_day.sql).
SELECT count(*) AS rows, max(received_at) AS last_received
FROM analytics_clicks
WHERE clicked_at >= %(day)s::timestamp AT TIME ZONE 'UTC'
  AND clicked_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'
  AND received_at <= %(until)s
