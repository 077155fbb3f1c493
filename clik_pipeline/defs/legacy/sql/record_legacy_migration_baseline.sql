-- The size of the old data the first time the migration runs (later runs keep it): the fixed
-- point the reconciliation compares against. Runs as clik_legacy_migrator.
INSERT INTO legacy_migration_baseline (legacy_rows, archived_rows)
SELECT (SELECT count(*) FROM analytics_events), (SELECT count(*) FROM analytics_events_archive)
ON CONFLICT (singleton) DO NOTHING
