-- What the checks expect, computed from the raw rows independently of the refresh functions:
-- sessions per day (UTC day of first_seen), user code and the session's share code.
CREATE TEMP TABLE expected_sessions ON COMMIT DROP AS
SELECT (first_seen AT TIME ZONE 'UTC')::date AS date, user_code, share_code, count(*) AS sessions
FROM analytics_sessions
WHERE first_seen >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
  AND first_seen <  %(end_day)s::timestamp AT TIME ZONE 'UTC'
GROUP BY 1, 2, 3
