-- Least privilege for each component, enforced by PostgreSQL.
--
--   clik_ingest    writes raw events: inserts events, upserts sessions. It may read only the
--                  columns an upsert or a duplicate check needs, and never writes server-owned
--                  counters or receive times of events (those come from triggers and defaults).
--   clik_pipeline  reads raw events, replaces daily rows, and drops expired raw days through
--                  drop_raw_events_before() (it cannot delete raw rows itself).
--   clik_reader    reads daily rows of the user codes its owner holds, chosen per transaction
--                  with set_config('clik.owner_id', <uuid>, true).
--
-- Row-level security is enabled and forced on every table, so even the table owner goes
-- through policies (a superuser still bypasses them, as PostgreSQL always lets it). A table
-- without a policy for a role shows that role nothing. Day partitions carry no grants: every
-- access goes through the parent table and its policies.

DO $$
DECLARE
    protected regclass;
BEGIN
    FOREACH protected IN ARRAY ARRAY[
        'analytics_sessions', 'analytics_page_views', 'analytics_clicks',
        'analytics_daily_user_stats', 'analytics_daily_group_stats',
        'analytics_daily_click_targets', 'analytics_daily_page_stats',
        'analytics_events', 'analytics_events_archive',
        'analytics_owners', 'user_code_owners']::regclass[]
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', protected);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', protected);
    END LOOP;
END
$$;

-- The owner whose rows clik_reader may see in this transaction (NULL: nobody's).
CREATE FUNCTION clik_current_owner()
RETURNS uuid
LANGUAGE sql
STABLE
AS $$ SELECT nullif(current_setting('clik.owner_id', true), '')::uuid $$;


-- clik_ingest ---------------------------------------------------------------------------------

GRANT SELECT (session_id, user_code, share_code, contact_id, first_seen, last_seen,
              ip_address, user_agent, referrer, received_at),
      INSERT (session_id, user_code, share_code, contact_id, first_seen, last_seen,
              ip_address, user_agent, referrer),
      UPDATE (share_code, contact_id, first_seen, last_seen,
              ip_address, user_agent, referrer, received_at)
    ON analytics_sessions TO clik_ingest;
CREATE POLICY ingest_reads_sessions ON analytics_sessions
    FOR SELECT TO clik_ingest USING (true);
CREATE POLICY ingest_inserts_sessions ON analytics_sessions
    FOR INSERT TO clik_ingest WITH CHECK (true);
CREATE POLICY ingest_updates_sessions ON analytics_sessions
    FOR UPDATE TO clik_ingest USING (true) WITH CHECK (true);

GRANT SELECT (id, viewed_at),
      INSERT (id, session_id, user_code, share_code, contact_id, page_type, viewed_at)
    ON analytics_page_views TO clik_ingest;
CREATE POLICY ingest_reads_page_view_ids ON analytics_page_views
    FOR SELECT TO clik_ingest USING (true);
CREATE POLICY ingest_inserts_page_views ON analytics_page_views
    FOR INSERT TO clik_ingest WITH CHECK (true);

GRANT SELECT (id, clicked_at),
      INSERT (id, session_id, user_code, share_code, contact_id, click_target, click_category,
              clicked_at)
    ON analytics_clicks TO clik_ingest;
CREATE POLICY ingest_reads_click_ids ON analytics_clicks
    FOR SELECT TO clik_ingest USING (true);
CREATE POLICY ingest_inserts_clicks ON analytics_clicks
    FOR INSERT TO clik_ingest WITH CHECK (true);


-- clik_pipeline -------------------------------------------------------------------------------

GRANT SELECT ON analytics_sessions, analytics_page_views, analytics_clicks TO clik_pipeline;
CREATE POLICY pipeline_reads_sessions ON analytics_sessions
    FOR SELECT TO clik_pipeline USING (true);
CREATE POLICY pipeline_reads_page_views ON analytics_page_views
    FOR SELECT TO clik_pipeline USING (true);
CREATE POLICY pipeline_reads_clicks ON analytics_clicks
    FOR SELECT TO clik_pipeline USING (true);

GRANT SELECT, INSERT, DELETE
    ON analytics_daily_user_stats, analytics_daily_group_stats,
       analytics_daily_click_targets, analytics_daily_page_stats
    TO clik_pipeline;

DO $$
DECLARE
    daily regclass;
BEGIN
    FOREACH daily IN ARRAY ARRAY[
        'analytics_daily_user_stats', 'analytics_daily_group_stats',
        'analytics_daily_click_targets', 'analytics_daily_page_stats']::regclass[]
    LOOP
        EXECUTE format('CREATE POLICY pipeline_reads_daily ON %s FOR SELECT TO clik_pipeline USING (true)', daily);
        EXECUTE format('CREATE POLICY pipeline_inserts_daily ON %s FOR INSERT TO clik_pipeline WITH CHECK (true)', daily);
        EXECUTE format('CREATE POLICY pipeline_deletes_daily ON %s FOR DELETE TO clik_pipeline USING (true)', daily);
        -- clik_reader: only the user codes of the owner set for this transaction.
        EXECUTE format('GRANT SELECT ON %s TO clik_reader', daily);
        EXECUTE format(
            'CREATE POLICY reader_reads_own_user_codes ON %s FOR SELECT TO clik_reader '
            'USING (user_code IN (SELECT o.user_code FROM user_code_owners o '
            'WHERE o.owner_id = clik_current_owner()))', daily);
    END LOOP;
END
$$;

REVOKE EXECUTE ON FUNCTION ensure_raw_partitions(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_raw_partitions(date, date),
                          drop_raw_events_before(date),
                          cleanup_old_raw_events(integer)
    TO clik_pipeline;


-- clik_reader ---------------------------------------------------------------------------------

GRANT SELECT ON user_code_owners TO clik_reader;
CREATE POLICY reader_reads_own_ownership ON user_code_owners
    FOR SELECT TO clik_reader USING (owner_id = clik_current_owner());
