-- The session-level lock of one migration run: a second concurrent run is refused.
SELECT pg_try_advisory_lock(%(key)s) AS locked
