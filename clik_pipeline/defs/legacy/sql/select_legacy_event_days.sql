-- The UTC days the rows still waiting in analytics_events were recorded on (index ends only).
SELECT (min(created_at) AT TIME ZONE 'UTC')::date AS first_day,
       (max(created_at) AT TIME ZONE 'UTC')::date AS last_day
FROM analytics_events
