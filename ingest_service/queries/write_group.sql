-- Group commit, step 2 (sql/0040): the locked sessions' merged changes, then the page views and
-- clicks not stored yet. Rows travel as one JSON array per table (far cheaper for the service
-- to send than one array parameter per column), event ids also as uuid[] literals for the
-- look-up of ids stored with another time.
SELECT inserted_page_view_ids, inserted_click_ids
FROM ingest_write_group(%(session_updates)s::json, %(page_views)s::json, %(clicks)s::json,
                        %(page_view_ids)s::uuid[], %(click_ids)s::uuid[],
                        %(window_start)s, %(window_end)s)
