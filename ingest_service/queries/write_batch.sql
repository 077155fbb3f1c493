-- Writes one batch in one statement, its own transaction: ingest_batch() (sql/0010, 0011) upserts
-- every session the batch touches in session_id order (its session locks, in one fixed order),
-- then inserts the page views and clicks that are not stored yet. Rows travel as one JSON
-- array per table (far cheaper for the service to send than one array parameter per column),
-- event ids also as uuid[] literals for the look-up of ids stored with another time.
SELECT changed_sessions, page_views_inserted, clicks_inserted
FROM ingest_batch(%(sessions)s::json, %(session_event_ids)s::text[], %(page_views)s::json,
                  %(clicks)s::json, %(page_view_ids)s::uuid[], %(click_ids)s::uuid[],
                  %(window_start)s, %(window_end)s)
