-- Whether the token set for this transaction names an active owner; and, on a streaming
-- replica, the commit time of the last primary transaction it has replayed (NULL on a primary).
SELECT clik_current_owner() IS NOT NULL, pg_last_xact_replay_timestamp()
