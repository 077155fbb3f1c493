-- Raw events before this day were removed by retention (NULL: never ran).
SELECT max(horizon) AS horizon FROM analytics_raw_retention_runs
