-- The legacy rows not migrated yet.
SELECT count(*) AS remaining FROM analytics_events
