-- Session counters, kept exact by the database itself.
--
-- The seed's triggers ran one UPDATE per inserted event. These are statement-level triggers
-- with transition tables: one upsert per INSERT statement, whatever its size. The transition
-- table holds only the rows really inserted, so duplicates skipped by ON CONFLICT DO NOTHING
-- never count. The upsert also creates the session when it is unknown (from the event's own
-- fields) and widens first_seen/last_seen to the event times, so every stored event has its
-- session and a session's time span covers all its events (retention relies on that).
--
-- Sessions are touched in session_id order, the same order the ingest service locks them in,
-- so concurrent batches wait for each other instead of deadlocking.
--
-- SECURITY DEFINER: counters are server-owned, so the roles that insert events hold no
-- privilege on the counter columns; only these functions write them.

CREATE FUNCTION increment_session_page_views()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    INSERT INTO analytics_sessions AS s
        (session_id, user_code, share_code, contact_id, first_seen, last_seen, page_views)
    SELECT session_id,
           (array_agg(user_code ORDER BY viewed_at))[1],
           (array_agg(share_code ORDER BY viewed_at))[1],
           (array_agg(contact_id ORDER BY viewed_at))[1],
           min(viewed_at), max(viewed_at), count(*)
    FROM inserted_page_views
    GROUP BY session_id
    ORDER BY session_id
    ON CONFLICT (session_id) DO UPDATE SET
        page_views  = s.page_views + excluded.page_views,
        first_seen  = least(s.first_seen, excluded.first_seen),
        last_seen   = greatest(s.last_seen, excluded.last_seen),
        received_at = CASE WHEN excluded.first_seen < s.first_seen THEN now()
                           ELSE s.received_at END;
    RETURN NULL;
END
$$;

CREATE TRIGGER increment_session_page_views
    AFTER INSERT ON analytics_page_views
    REFERENCING NEW TABLE AS inserted_page_views
    FOR EACH STATEMENT EXECUTE FUNCTION increment_session_page_views();


CREATE FUNCTION increment_session_clicks()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    INSERT INTO analytics_sessions AS s
        (session_id, user_code, share_code, contact_id, first_seen, last_seen, clicks)
    SELECT session_id,
           (array_agg(user_code ORDER BY clicked_at))[1],
           (array_agg(share_code ORDER BY clicked_at))[1],
           (array_agg(contact_id ORDER BY clicked_at))[1],
           min(clicked_at), max(clicked_at), count(*)
    FROM inserted_clicks
    GROUP BY session_id
    ORDER BY session_id
    ON CONFLICT (session_id) DO UPDATE SET
        clicks      = s.clicks + excluded.clicks,
        first_seen  = least(s.first_seen, excluded.first_seen),
        last_seen   = greatest(s.last_seen, excluded.last_seen),
        received_at = CASE WHEN excluded.first_seen < s.first_seen THEN now()
                           ELSE s.received_at END;
    RETURN NULL;
END
$$;

CREATE TRIGGER increment_session_clicks
    AFTER INSERT ON analytics_clicks
    REFERENCING NEW TABLE AS inserted_clicks
    FOR EACH STATEMENT EXECUTE FUNCTION increment_session_clicks();

REVOKE EXECUTE ON FUNCTION increment_session_page_views(), increment_session_clicks() FROM PUBLIC;
