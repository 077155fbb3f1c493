-- Day partitions of the event tables from `days_behind` days before today (UTC) to
-- `days_ahead` days after it.
SELECT ensure_raw_partitions(today - %(days_behind)s, today + %(days_ahead)s)
FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS today) AS utc
