-- Group commit, step 1 (sql/0040): inserts the group's unknown sessions, locks the known ones
-- (session_id order) and returns all of them as stored now.
SELECT session_id, inserted, user_code, share_code, contact_id, first_seen, last_seen,
       ip_address, user_agent, referrer
FROM ingest_lock_sessions(%(sessions)s::json, %(session_ids)s::text[])
