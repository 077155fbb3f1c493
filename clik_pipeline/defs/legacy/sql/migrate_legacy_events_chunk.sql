-- One chunk of the legacy migration, as one statement and so one transaction: take the oldest
-- chunk_size rows of analytics_events, write those that can be mapped into the normalized
-- tables, archive every one of them (with the reason when it could not be mapped), and delete
-- them from analytics_events. A chunk either happens whole or not at all, so a run that stops
-- anywhere resumes with the next rows and nothing is moved twice. Runs as clik_legacy_migrator.
--
-- Accepted legacy format (README "Migrating from the old analytics_events table"):
--   event_type  view | page_view | pageview | page           -> analytics_page_views
--               click | link_click | button_click             -> analytics_clicks
--               session | session_start                       -> analytics_sessions
--               (case, spaces, '-' and '_' ignored)
--   event_data  a JSON object; camelCase keys, snake_case accepted too:
--               userCode, sessionId (required), shareCode, contactId,
--               pageType (required for views), clickTarget (required for clicks),
--               clickCategory, userAgent, referrer (sessions);
--               event time from timestamp | occurredAt | viewedAt | clickedAt | firstSeen
--               (ISO 8601, UTC without offset, or epoch s/ms), else created_at.
-- The triggers of 0003 keep session counters exact and create the sessions of events whose
-- session row the old data never had.
WITH chunk AS (
    -- = ANY(ARRAY(...)): the ids are looked up by primary key. With IN (subquery) the planner
    -- preferred a hash join over a sequential scan of the whole legacy table, for every chunk.
    DELETE FROM analytics_events
    WHERE id = ANY (ARRAY(
        SELECT id FROM analytics_events ORDER BY created_at, id LIMIT %(chunk_size)s))
    RETURNING id, event_type, event_data, created_at
),
fields AS (
    SELECT c.id, c.event_type, c.event_data, c.created_at,
           jsonb_typeof(c.event_data) AS data_type,
           CASE translate(lower(c.event_type), ' _-', '')
               WHEN 'view' THEN 'page_view'
               WHEN 'pageview' THEN 'page_view'
               WHEN 'page' THEN 'page_view'
               WHEN 'click' THEN 'click'
               WHEN 'linkclick' THEN 'click'
               WHEN 'buttonclick' THEN 'click'
               WHEN 'session' THEN 'session'
               WHEN 'sessionstart' THEN 'session'
           END AS kind,
           coalesce(legacy_text(d -> 'userCode'), legacy_text(d -> 'user_code')) AS user_code,
           coalesce(legacy_text(d -> 'sessionId'), legacy_text(d -> 'session_id')) AS session_id,
           coalesce(legacy_text(d -> 'shareCode'), legacy_text(d -> 'share_code')) AS share_code,
           coalesce(legacy_text(d -> 'contactId'), legacy_text(d -> 'contact_id')) AS contact_id,
           coalesce(legacy_text(d -> 'pageType'), legacy_text(d -> 'page_type')) AS page_type,
           coalesce(legacy_text(d -> 'clickTarget'), legacy_text(d -> 'click_target'))
               AS click_target,
           coalesce(legacy_text(d -> 'clickCategory'), legacy_text(d -> 'click_category'))
               AS click_category,
           coalesce(legacy_text(d -> 'userAgent'), legacy_text(d -> 'user_agent')) AS user_agent,
           legacy_text(d -> 'referrer') AS referrer,
           coalesce(nullif(d -> 'timestamp', 'null'), nullif(d -> 'occurredAt', 'null'),
                    nullif(d -> 'occurred_at', 'null'), nullif(d -> 'viewedAt', 'null'),
                    nullif(d -> 'viewed_at', 'null'), nullif(d -> 'clickedAt', 'null'),
                    nullif(d -> 'clicked_at', 'null'), nullif(d -> 'firstSeen', 'null'),
                    nullif(d -> 'first_seen', 'null')) AS time_value
    FROM chunk AS c
    CROSS JOIN LATERAL (SELECT c.event_data AS d) AS data
),
timed AS (
    SELECT f.*,
           CASE WHEN f.time_value IS NULL THEN f.created_at ELSE legacy_time(f.time_value) END
               AS event_time
    FROM fields AS f
),
checked AS (
    SELECT t.*,
           CASE
               WHEN t.data_type IS DISTINCT FROM 'object' THEN 'event_data is not a JSON object'
               WHEN t.kind IS NULL THEN 'unknown event_type: ' || left(t.event_type, 64)
               WHEN t.user_code IS NULL THEN 'missing userCode'
               WHEN length(t.user_code) > 64 THEN 'userCode longer than 64 characters'
               WHEN t.session_id IS NULL THEN 'missing sessionId'
               WHEN length(t.session_id) > 128 THEN 'sessionId longer than 128 characters'
               WHEN t.event_time IS NULL THEN 'unreadable timestamp'
               WHEN t.event_time < '2000-01-01 00:00:00+00'
                    OR t.event_time > t.created_at + interval '1 day'
                   THEN 'timestamp before 2000 or more than a day after created_at'
               WHEN t.kind = 'page_view' AND t.page_type IS NULL THEN 'missing pageType'
               WHEN t.kind = 'page_view' AND length(t.page_type) > 64
                   THEN 'pageType longer than 64 characters'
               WHEN t.kind = 'click' AND t.click_target IS NULL THEN 'missing clickTarget'
               WHEN t.kind = 'click' AND length(t.click_target) > 128
                   THEN 'clickTarget longer than 128 characters'
               WHEN length(t.share_code) > 64 THEN 'shareCode longer than 64 characters'
               WHEN length(t.contact_id) > 128 THEN 'contactId longer than 128 characters'
               WHEN length(t.click_category) > 64 THEN 'clickCategory longer than 64 characters'
           END AS migration_error
    FROM timed AS t
),
sessions AS (
    -- Several session rows of one session in a chunk become one upsert row.
    INSERT INTO analytics_sessions AS s
        (session_id, user_code, share_code, contact_id, first_seen, last_seen, user_agent,
         referrer)
    SELECT session_id,
           (array_agg(user_code ORDER BY event_time))[1],
           (array_agg(share_code ORDER BY event_time))[1],
           (array_agg(contact_id ORDER BY event_time))[1],
           min(event_time), max(event_time),
           (array_agg(user_agent ORDER BY event_time) FILTER (WHERE user_agent IS NOT NULL))[1],
           (array_agg(referrer ORDER BY event_time) FILTER (WHERE referrer IS NOT NULL))[1]
    FROM checked
    WHERE kind = 'session' AND migration_error IS NULL
    GROUP BY session_id
    ORDER BY session_id
    ON CONFLICT (session_id) DO UPDATE SET
        share_code  = coalesce(s.share_code, excluded.share_code),
        contact_id  = coalesce(s.contact_id, excluded.contact_id),
        user_agent  = coalesce(s.user_agent, excluded.user_agent),
        referrer    = coalesce(s.referrer, excluded.referrer),
        first_seen  = least(s.first_seen, excluded.first_seen),
        last_seen   = greatest(s.last_seen, excluded.last_seen),
        received_at = CASE WHEN excluded.first_seen < s.first_seen THEN now()
                           ELSE s.received_at END
    RETURNING 1
),
page_views AS (
    INSERT INTO analytics_page_views
        (id, session_id, user_code, share_code, contact_id, page_type, viewed_at)
    SELECT id, session_id, user_code, share_code, contact_id, page_type, event_time
    FROM checked
    WHERE kind = 'page_view' AND migration_error IS NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
),
clicks AS (
    INSERT INTO analytics_clicks
        (id, session_id, user_code, share_code, contact_id, click_target, click_category,
         clicked_at)
    SELECT id, session_id, user_code, share_code, contact_id, click_target, click_category,
           event_time
    FROM checked
    WHERE kind = 'click' AND migration_error IS NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
),
archived AS (
    -- An id archived before (its row was put back into analytics_events) keeps one archive
    -- row, with the latest data and outcome.
    INSERT INTO analytics_events_archive AS a
        (id, event_type, event_data, created_at, migration_error, migrated_to, event_time,
         session_id)
    SELECT id, event_type, event_data, created_at, migration_error,
           CASE WHEN migration_error IS NULL THEN
               CASE kind
                   WHEN 'page_view' THEN 'analytics_page_views'
                   WHEN 'click' THEN 'analytics_clicks'
                   WHEN 'session' THEN 'analytics_sessions'
               END
           END,
           event_time, session_id
    FROM checked
    ON CONFLICT (id) DO UPDATE SET
        event_type      = excluded.event_type,
        event_data      = excluded.event_data,
        created_at      = excluded.created_at,
        migration_error = excluded.migration_error,
        migrated_to     = excluded.migrated_to,
        event_time      = excluded.event_time,
        session_id      = excluded.session_id,
        archived_at     = now()
    RETURNING 1
),
outcome AS (
    SELECT count(*) AS taken,
           count(*) FILTER (WHERE migration_error IS NULL AND kind = 'page_view') AS page_views,
           count(*) FILTER (WHERE migration_error IS NULL AND kind = 'click') AS clicks,
           count(*) FILTER (WHERE migration_error IS NULL AND kind = 'session') AS sessions,
           count(*) FILTER (WHERE migration_error IS NOT NULL) AS unmapped,
           min(event_time) FILTER (WHERE migration_error IS NULL) AS first_event,
           max(event_time) FILTER (WHERE migration_error IS NULL) AS last_event
    FROM checked
)
SELECT o.taken,
       (SELECT count(*) FROM archived) AS archived,
       o.page_views,
       o.clicks,
       o.sessions,
       (SELECT count(*) FROM page_views) AS page_views_inserted,
       (SELECT count(*) FROM clicks) AS clicks_inserted,
       o.unmapped,
       (SELECT coalesce(jsonb_object_agg(reason, rows), '{}')
        FROM (SELECT migration_error AS reason, count(*) AS rows
              FROM checked WHERE migration_error IS NOT NULL
              GROUP BY migration_error) AS reasons) AS unmapped_by_reason,
       (o.first_event AT TIME ZONE 'UTC')::date AS first_day,
       (o.last_event AT TIME ZONE 'UTC')::date AS last_day
FROM outcome AS o
