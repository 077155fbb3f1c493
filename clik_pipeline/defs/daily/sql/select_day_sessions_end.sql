-- Just after the last event of any session started in [start_day, end_day): the events of
-- those sessions all lie between the range start and this (first_seen and last_seen span them).
SELECT max(last_seen) + interval '1 microsecond' AS events_end
FROM analytics_sessions
WHERE first_seen >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
  AND first_seen <  %(end_day)s::timestamp AT TIME ZONE 'UTC'
