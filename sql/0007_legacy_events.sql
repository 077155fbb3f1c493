-- The old system's storage: one JSONB row per event. Kept so its data can be migrated into the
-- normalized tables (legacy_events_migration_job) and archived.

CREATE TABLE analytics_events (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_type text NOT NULL,
    event_data jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE analytics_events IS 'Legacy events, one JSONB row each (old system); emptied by the migration.';
CREATE INDEX idx_analytics_events_created_at ON analytics_events (created_at);

-- Every legacy row ends here once migrated; migration_error says why a row could not be mapped
-- (NULL: it was migrated), so nothing of the old data is ever lost.
CREATE TABLE analytics_events_archive (
    id              uuid PRIMARY KEY,
    event_type      text NOT NULL,
    event_data      jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    archived_at     timestamptz NOT NULL DEFAULT now(),
    migration_error text
);
COMMENT ON TABLE analytics_events_archive IS 'Migrated legacy events, with the reason for any row that could not be mapped.';
CREATE INDEX idx_analytics_events_archive_created_at ON analytics_events_archive (created_at);
