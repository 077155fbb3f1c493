SELECT (now() AT TIME ZONE 'UTC')::date AS today
