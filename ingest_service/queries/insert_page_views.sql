-- Inserts a batch's page views; returns the ids really inserted.
-- A page view whose id is already stored is a duplicate and inserts nothing (so its session's
-- counter does not move): an exact retry (same id and time) meets the primary key and ON
-- CONFLICT DO NOTHING skips it; an id stored with another time is found by the anti-join,
-- which looks only at the days the service still accepts (older events are rejected before
-- they get here), so it reads only those days' partitions.
-- Rows go in id order, so two batches carrying the same ids never wait on each other in
-- opposite orders.
INSERT INTO analytics_page_views
    (id, session_id, user_code, share_code, contact_id, page_type, viewed_at)
SELECT batch.*
FROM unnest(%(id)s::uuid[], %(session_id)s::text[], %(user_code)s::text[],
            %(share_code)s::text[], %(contact_id)s::text[], %(page_type)s::text[],
            %(viewed_at)s::timestamptz[])
     AS batch (id, session_id, user_code, share_code, contact_id, page_type, viewed_at)
WHERE NOT EXISTS (
    SELECT FROM analytics_page_views AS stored
    WHERE stored.id = batch.id
      AND stored.viewed_at >= %(window_start)s
      AND stored.viewed_at < %(window_end)s)
ORDER BY batch.id
ON CONFLICT DO NOTHING
RETURNING id
