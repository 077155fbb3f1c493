-- A session whose share code becomes known in a later batch moves, in its start day's
-- aggregates, from the "no share code" group to its share code's group. 0010 left received_at
-- alone then, so the late-data sensor did not see that the start day's aggregates had changed
-- when the later batch's events all fell on another day (a session across midnight). Now the
-- upsert stamps received_at in that case too. The function is otherwise the same as in 0010;
-- CREATE OR REPLACE keeps its grants.

CREATE OR REPLACE FUNCTION ingest_batch(
    sessions json,
    session_event_ids text[],
    page_views json,
    clicks json,
    page_view_ids uuid[],
    click_ids uuid[],
    window_start timestamptz,
    window_end timestamptz,
    OUT changed_sessions text[],
    OUT page_views_inserted bigint,
    OUT clicks_inserted bigint)
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    WITH upserted AS (
        INSERT INTO analytics_sessions AS s
            (session_id, user_code, share_code, contact_id, first_seen, last_seen,
             ip_address, user_agent, referrer)
        SELECT batch.*
        FROM json_to_recordset(sessions)
             AS batch (session_id text, user_code text, share_code text, contact_id text,
                       first_seen timestamptz, last_seen timestamptz, ip_address text,
                       user_agent text, referrer text)
        ORDER BY batch.session_id
        ON CONFLICT (session_id) DO UPDATE SET
            first_seen  = least(s.first_seen, excluded.first_seen),
            last_seen   = greatest(s.last_seen, excluded.last_seen),
            share_code  = coalesce(s.share_code, excluded.share_code),
            contact_id  = coalesce(s.contact_id, excluded.contact_id),
            ip_address  = coalesce(s.ip_address, excluded.ip_address),
            user_agent  = coalesce(s.user_agent, excluded.user_agent),
            referrer    = coalesce(s.referrer, excluded.referrer),
            -- the late-data sensor re-aggregates the start day of a session whose row changed
            -- what that day's aggregates hold: its start moved earlier, or its share code
            -- (the group its session counts in) became known
            received_at = CASE WHEN excluded.first_seen < s.first_seen
                                 OR (s.share_code IS NULL AND excluded.share_code IS NOT NULL)
                               THEN now()
                               ELSE s.received_at END
        WHERE excluded.session_id = ANY (session_event_ids)
          AND (excluded.first_seen < s.first_seen
               OR excluded.last_seen > s.last_seen
               OR (s.share_code IS NULL AND excluded.share_code IS NOT NULL)
               OR (s.contact_id IS NULL AND excluded.contact_id IS NOT NULL)
               OR (s.ip_address IS NULL AND excluded.ip_address IS NOT NULL)
               OR (s.user_agent IS NULL AND excluded.user_agent IS NOT NULL)
               OR (s.referrer IS NULL AND excluded.referrer IS NOT NULL))
        RETURNING s.session_id
    )
    SELECT coalesce(array_agg(upserted.session_id), '{}') INTO changed_sessions FROM upserted;

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
        SELECT batch.*
        FROM json_to_recordset(page_views)
             AS batch (id uuid, session_id text, user_code text, share_code text, contact_id text,
                       page_type text, viewed_at timestamptz)
        WHERE NOT EXISTS (SELECT FROM stored_page_views AS stored WHERE stored.id = batch.id)
        ORDER BY batch.id
        ON CONFLICT DO NOTHING
        RETURNING id
    ),

    inserted_clicks AS (
        INSERT INTO analytics_clicks
            (id, session_id, user_code, share_code, contact_id, click_target, click_category,
             clicked_at)
        SELECT batch.*
        FROM json_to_recordset(clicks)
             AS batch (id uuid, session_id text, user_code text, share_code text, contact_id text,
                       click_target text, click_category text, clicked_at timestamptz)
        WHERE NOT EXISTS (SELECT FROM stored_clicks AS stored WHERE stored.id = batch.id)
        ORDER BY batch.id
        ON CONFLICT DO NOTHING
        RETURNING id
    )

    SELECT (SELECT count(*) FROM inserted_page_views) AS page_views_inserted,
           (SELECT count(*) FROM inserted_clicks) AS clicks_inserted
    INTO page_views_inserted, clicks_inserted;
END
$$;

