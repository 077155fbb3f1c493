-- What the legacy migration (legacy_events_migration_job) needs, and nothing more.
--
-- It works under its own role, clik_legacy_migrator, rather than through grants to
-- clik_pipeline or SECURITY DEFINER functions:
--   * it writes raw events exactly as the ingest service may (membership in clik_ingest: insert
--     events, upsert sessions, never touch counters, which stay the triggers' job), and moves
--     legacy rows (read and delete analytics_events, write analytics_events_archive);
--   * clik_pipeline keeps its promise of never writing raw events, and no other role gains
--     access to the old data;
--   * the mapping itself stays in an ordinary query file beside the Dagster asset
--     (clik_pipeline/queries/migrate_legacy_events_chunk.sql), where it can be read, tested and
--     corrected, instead of being frozen in a migration that may never be edited.
-- Once the old table is empty and archived, the role has nothing left to act on.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clik_legacy_migrator') THEN
        BEGIN
            CREATE ROLE clik_legacy_migrator NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it a moment ago
        END;
    END IF;
    IF NOT pg_has_role('clik_legacy_migrator', 'clik_ingest', 'MEMBER') THEN
        GRANT clik_ingest TO clik_legacy_migrator;
    END IF;
    IF NOT pg_has_role(current_user, 'clik_legacy_migrator', 'MEMBER') THEN
        GRANT clik_legacy_migrator TO CURRENT_USER;
    END IF;
END
$$;

-- Where each archived row went (NULL with migration_error set: it could not be mapped), with
-- the event time and session it was given; the reconciliation check looks migrated rows up
-- with them.
ALTER TABLE analytics_events_archive
    ADD COLUMN migrated_to text
        CHECK (migrated_to IN ('analytics_page_views', 'analytics_clicks', 'analytics_sessions')),
    ADD COLUMN event_time timestamptz,
    ADD COLUMN session_id text,
    ADD CHECK (migrated_to IS NULL OR migration_error IS NULL);

-- The size of the old data when the migration first ran, so the reconciliation has a fixed
-- point: archived + remaining rows must always equal it.
CREATE TABLE legacy_migration_baseline (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    legacy_rows   bigint NOT NULL,
    archived_rows bigint NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE legacy_migration_baseline IS
    'Rows in analytics_events and analytics_events_archive when the legacy migration first ran.';

ALTER TABLE legacy_migration_baseline ENABLE ROW LEVEL SECURITY;
ALTER TABLE legacy_migration_baseline FORCE ROW LEVEL SECURITY;

GRANT SELECT, DELETE ON analytics_events TO clik_legacy_migrator;
CREATE POLICY migrator_reads_legacy_events ON analytics_events
    FOR SELECT TO clik_legacy_migrator USING (true);
CREATE POLICY migrator_deletes_legacy_events ON analytics_events
    FOR DELETE TO clik_legacy_migrator USING (true);

GRANT SELECT, INSERT, UPDATE ON analytics_events_archive TO clik_legacy_migrator;
CREATE POLICY migrator_reads_archive ON analytics_events_archive
    FOR SELECT TO clik_legacy_migrator USING (true);
CREATE POLICY migrator_inserts_archive ON analytics_events_archive
    FOR INSERT TO clik_legacy_migrator WITH CHECK (true);
CREATE POLICY migrator_updates_archive ON analytics_events_archive
    FOR UPDATE TO clik_legacy_migrator USING (true) WITH CHECK (true);

GRANT SELECT, INSERT ON legacy_migration_baseline TO clik_legacy_migrator;
CREATE POLICY migrator_reads_baseline ON legacy_migration_baseline
    FOR SELECT TO clik_legacy_migrator USING (true);
CREATE POLICY migrator_records_baseline ON legacy_migration_baseline
    FOR INSERT TO clik_legacy_migrator WITH CHECK (true);

-- Day partitions for the legacy days, so migrated events land in them, not the default one.
GRANT EXECUTE ON FUNCTION ensure_raw_partitions(date, date) TO clik_legacy_migrator;


-- A JSON string or number as text; NULL for anything else (absent, null, object, array, "").
CREATE FUNCTION legacy_text(value jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT CASE jsonb_typeof(value)
               WHEN 'string' THEN nullif(value #>> '{}', '')
               WHEN 'number' THEN value #>> '{}'
           END
$$;


-- A legacy timestamp: an ISO 8601 string (no offset means UTC) or Unix epoch seconds or
-- milliseconds (a number or a string of digits). NULL when it cannot be read; never an error,
-- so one bad row cannot stop a chunk.
CREATE FUNCTION legacy_time(value jsonb)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE  -- not PARALLEL SAFE: its exception block needs a subtransaction
AS $$
DECLARE
    text_value text;
    epoch      numeric;
BEGIN
    CASE jsonb_typeof(value)
        WHEN 'number' THEN
            epoch := value::numeric;
        WHEN 'string' THEN
            text_value := btrim(value #>> '{}');
            IF text_value ~ '^[0-9]{9,14}(\.[0-9]+)?$' THEN
                epoch := text_value::numeric;
            ELSIF text_value ~* '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$' THEN
                BEGIN
                    IF text_value ~* '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN
                        RETURN text_value::timestamptz;
                    END IF;
                    RETURN text_value::timestamp AT TIME ZONE 'UTC';
                EXCEPTION WHEN data_exception THEN
                    RETURN NULL;  -- shaped like a date but not one (2025-02-30, 25:00)
                END;
            ELSE
                RETURN NULL;
            END IF;
        ELSE
            RETURN NULL;
    END CASE;
    IF epoch > 100000000000 THEN
        epoch := epoch / 1000;  -- milliseconds: 1e11 seconds would be the year 5138
    END IF;
    IF epoch < 0 OR epoch > 32503680000 THEN  -- 3000-01-01
        RETURN NULL;
    END IF;
    RETURN to_timestamp(epoch);
END
$$;

COMMENT ON FUNCTION legacy_time(jsonb) IS
    'Reads a legacy timestamp (ISO 8601, UTC when no offset, or epoch s/ms); NULL if unreadable.';
