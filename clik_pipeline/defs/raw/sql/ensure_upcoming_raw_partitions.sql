-- Keeps day partitions ready ahead of today, so new events never pile up in the default
-- partitions (moving them out later would lock ingest out of those partitions meanwhile).
SELECT ensure_raw_partitions(today, today + %(days_ahead)s) AS created
FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS today) AS utc
