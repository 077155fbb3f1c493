-- Just after the last event of the suspects' sessions started in [start_day, end_day): the
-- events select_session_counter_mismatches.sql counts all lie between the range start and this.
SELECT max(last_seen) + interval '1 microsecond' AS events_end
FROM analytics_sessions
WHERE user_code = ANY(%(suspect_user_codes)s::text[])
  AND first_seen >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
  AND first_seen <  %(end_day)s::timestamp AT TIME ZONE 'UTC'
