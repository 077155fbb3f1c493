-- Group commit (docs/contract.md 3a): the ingest service writes the batches of concurrent requests in one
-- transaction, and answers each batch exactly as if the batches had been written one after
-- another in queue order. ingest_batch() (0010, 0011) wrote one batch and could only say how
-- many rows it changed; a group needs to know, per session, what was stored before it, so the
-- write is now two calls in one transaction (ingest_service/store.py):
--
--   1. ingest_lock_sessions(): every session the group touches, in session_id order, is either
--      inserted (unknown so far) or locked as it is (ON CONFLICT DO UPDATE ... WHERE false
--      locks the row without changing it). Then it returns every one of those rows as now
--      stored: a new statement, so a new snapshot, which sees the latest committed version of
--      each locked row. All the session locks of the transaction are taken here, in one fixed
--      order, so concurrent groups (of any process) wait for each other instead of
--      deadlocking; the later statements touch only rows already locked.
--   2. ingest_write_group(): the session rows the group changes (values merged by the service
--      from the stored rows it was shown), then the page views and clicks not stored yet (ON
--      CONFLICT DO NOTHING, plus a primary-key look-up of ids stored with another time within
--      the accepted window); returns the ids really inserted. The counter triggers (0003) fire
--      on those inserts as before.
--
-- SECURITY INVOKER: both run with the caller's (clik_ingest's) privileges, nothing more.
-- Generic plans: custom plans of statements on the partitioned tables cost more to plan than
-- to run; a generic plan prunes partitions at execution.

DROP FUNCTION ingest_batch(json, text[], json, json, uuid[], uuid[], timestamptz, timestamptz);

CREATE FUNCTION ingest_lock_sessions(sessions json, session_ids text[])
RETURNS TABLE (session_id text, inserted boolean, user_code text, share_code text,
               contact_id text, first_seen timestamptz, last_seen timestamptz,
               ip_address text, user_agent text, referrer text)
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    inserted_ids text[];
BEGIN
    WITH inserted_rows AS (
        INSERT INTO analytics_sessions AS s
            (session_id, user_code, share_code, contact_id, first_seen, last_seen,
             ip_address, user_agent, referrer)
        SELECT given.*
        FROM json_to_recordset(sessions)
             AS given (session_id text, user_code text, share_code text, contact_id text,
                       first_seen timestamptz, last_seen timestamptz, ip_address text,
                       user_agent text, referrer text)
        ORDER BY given.session_id
        ON CONFLICT (session_id) DO UPDATE SET first_seen = s.first_seen WHERE false
        RETURNING s.session_id
    )
    SELECT coalesce(array_agg(inserted_rows.session_id), '{}') INTO inserted_ids
    FROM inserted_rows;

    RETURN QUERY
        SELECT s.session_id, s.session_id = ANY (inserted_ids), s.user_code, s.share_code,
               s.contact_id, s.first_seen, s.last_seen, s.ip_address, s.user_agent, s.referrer
        FROM analytics_sessions AS s
        WHERE s.session_id = ANY (session_ids);
END
$$;

COMMENT ON FUNCTION ingest_lock_sessions(json, text[]) IS
    'Group commit, step 1: inserts the unknown sessions and locks the known ones (session_id order); returns them as stored.';


CREATE FUNCTION ingest_write_group(
    session_updates json,
    page_views json,
    clicks json,
    page_view_ids uuid[],
    click_ids uuid[],
    window_start timestamptz,
    window_end timestamptz,
    OUT inserted_page_view_ids text[],
    OUT inserted_click_ids text[])
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    -- Merged values computed by the service; least/greatest/coalesce again here so that the
    -- counter triggers' widening of first_seen/last_seen (in either order) is never undone.
    UPDATE analytics_sessions AS s SET
        first_seen  = least(s.first_seen, given.first_seen),
        last_seen   = greatest(s.last_seen, given.last_seen),
        share_code  = coalesce(s.share_code, given.share_code),
        contact_id  = coalesce(s.contact_id, given.contact_id),
        ip_address  = coalesce(s.ip_address, given.ip_address),
        user_agent  = coalesce(s.user_agent, given.user_agent),
        referrer    = coalesce(s.referrer, given.referrer),
        -- the late-data sensor re-aggregates the start day of a session whose row changed
        -- what that day's aggregates hold: its start moved earlier, or its share code (the
        -- group its session counts in) became known
        received_at = CASE WHEN given.marks_received THEN now() ELSE s.received_at END
    FROM json_to_recordset(session_updates)
         AS given (session_id text, first_seen timestamptz, last_seen timestamptz,
                   share_code text, contact_id text, ip_address text, user_agent text,
                   referrer text, marks_received boolean)
    WHERE s.session_id = given.session_id;

    WITH
    stored_page_views AS MATERIALIZED (
        SELECT id FROM analytics_page_views
        WHERE id = ANY (page_view_ids)
          AND viewed_at >= window_start AND viewed_at < window_end
    ),
    stored_clicks AS MATERIALIZED (
        SELECT id FROM analytics_clicks
        WHERE id = ANY (click_ids)
          AND clicked_at >= window_start AND clicked_at < window_end
    ),

    inserted_page_views AS (
        INSERT INTO analytics_page_views
            (id, session_id, user_code, share_code, contact_id, page_type, viewed_at)
        SELECT given.*
        FROM json_to_recordset(page_views)
             AS given (id uuid, session_id text, user_code text, share_code text,
                       contact_id text, page_type text, viewed_at timestamptz)
        WHERE NOT EXISTS (SELECT FROM stored_page_views AS stored WHERE stored.id = given.id)
        ORDER BY given.id
        ON CONFLICT DO NOTHING
        RETURNING id
    ),

    inserted_clicks AS (
        INSERT INTO analytics_clicks
            (id, session_id, user_code, share_code, contact_id, click_target, click_category,
             clicked_at)
        SELECT given.*
        FROM json_to_recordset(clicks)
             AS given (id uuid, session_id text, user_code text, share_code text,
                       contact_id text, click_target text, click_category text,
                       clicked_at timestamptz)
        WHERE NOT EXISTS (SELECT FROM stored_clicks AS stored WHERE stored.id = given.id)
        ORDER BY given.id
        ON CONFLICT DO NOTHING
        RETURNING id
    )

    -- as text: the service compares them with the ids it was sent (canonical UUID strings)
    SELECT (SELECT coalesce(array_agg(id::text), '{}') FROM inserted_page_views),
           (SELECT coalesce(array_agg(id::text), '{}') FROM inserted_clicks)
    INTO inserted_page_view_ids, inserted_click_ids;
END
$$;

COMMENT ON FUNCTION ingest_write_group(json, json, json, uuid[], uuid[], timestamptz, timestamptz) IS
    'Group commit, step 2: updates the locked sessions, inserts the page views and clicks not stored yet; returns the ids inserted.';

REVOKE EXECUTE ON FUNCTION ingest_lock_sessions(json, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ingest_lock_sessions(json, text[]) TO clik_ingest;
REVOKE EXECUTE ON FUNCTION ingest_write_group(json, json, json, uuid[], uuid[], timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ingest_write_group(json, json, json, uuid[], uuid[], timestamptz, timestamptz) TO clik_ingest;
