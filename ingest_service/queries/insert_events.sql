-- The second statement of a batch's transaction (after upsert_sessions.sql): inserts its page
-- views and clicks, in id order (two batches carrying the same ids never wait on each other in
-- opposite orders). Rows come as JSON arrays, ids also as uuid[] literals for the look-ups.
-- Returns how many of each were really inserted.
WITH
-- An event whose id is already stored is a duplicate and inserts nothing (so no counter
-- moves): an exact retry (same id and time) meets the primary key and ON CONFLICT DO NOTHING
-- skips it; an id stored with another time is found here, among the days the service still
-- accepts (older events are rejected before they get here), so only those days' partitions
-- are read: one primary-key probe per id and partition (id = ANY(...) on (id, event time)),
-- whose cost grows with the log of the table, not its size. (A NOT EXISTS anti-join against
-- the table let the generic plan hash-join every row of the window.)
stored_page_views AS MATERIALIZED (
    SELECT id FROM analytics_page_views
    WHERE id = ANY (%(page_view_ids)s::uuid[])
      AND viewed_at >= %(window_start)s AND viewed_at < %(window_end)s
),
stored_clicks AS MATERIALIZED (
    SELECT id FROM analytics_clicks
    WHERE id = ANY (%(click_ids)s::uuid[])
      AND clicked_at >= %(window_start)s AND clicked_at < %(window_end)s
),

page_views AS (
    INSERT INTO analytics_page_views
        (id, session_id, user_code, share_code, contact_id, page_type, viewed_at)
    SELECT batch.*
    FROM json_to_recordset(%(page_views)s::json)
         AS batch (id uuid, session_id text, user_code text, share_code text, contact_id text,
                   page_type text, viewed_at timestamptz)
    WHERE NOT EXISTS (SELECT FROM stored_page_views AS stored WHERE stored.id = batch.id)
    ORDER BY batch.id
    ON CONFLICT DO NOTHING
    RETURNING id
),

clicks AS (
    INSERT INTO analytics_clicks
        (id, session_id, user_code, share_code, contact_id, click_target, click_category,
         clicked_at)
    SELECT batch.*
    FROM json_to_recordset(%(clicks)s::json)
         AS batch (id uuid, session_id text, user_code text, share_code text, contact_id text,
                   click_target text, click_category text, clicked_at timestamptz)
    WHERE NOT EXISTS (SELECT FROM stored_clicks AS stored WHERE stored.id = batch.id)
    ORDER BY batch.id
    ON CONFLICT DO NOTHING
    RETURNING id
)

SELECT (SELECT count(*) FROM page_views) AS page_views_inserted,
       (SELECT count(*) FROM clicks) AS clicks_inserted
