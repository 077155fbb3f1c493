-- Inserts a batch's clicks; returns the ids really inserted. Duplicates are skipped exactly
-- as in insert_page_views.sql: same id and time by ON CONFLICT DO NOTHING, same id with
-- another time by the anti-join over the accepted days.
INSERT INTO analytics_clicks
    (id, session_id, user_code, share_code, contact_id, click_target, click_category,
     clicked_at)
SELECT batch.*
FROM unnest(%(id)s::uuid[], %(session_id)s::text[], %(user_code)s::text[],
            %(share_code)s::text[], %(contact_id)s::text[], %(click_target)s::text[],
            %(click_category)s::text[], %(clicked_at)s::timestamptz[])
     AS batch (id, session_id, user_code, share_code, contact_id, click_target,
               click_category, clicked_at)
WHERE NOT EXISTS (
    SELECT FROM analytics_clicks AS stored
    WHERE stored.id = batch.id
      AND stored.clicked_at >= %(window_start)s
      AND stored.clicked_at < %(window_end)s)
ORDER BY batch.id
ON CONFLICT DO NOTHING
RETURNING id
