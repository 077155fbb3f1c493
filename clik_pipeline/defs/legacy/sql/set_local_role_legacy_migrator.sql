-- One transaction of the migration under the legacy migrator's role (INSERT into the new
-- tables and the archive, DELETE from analytics_events: nothing else).
SET LOCAL ROLE clik_legacy_migrator
