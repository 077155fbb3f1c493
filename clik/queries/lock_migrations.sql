-- Held for the session while migrating: concurrent runs wait for each other.
SELECT pg_advisory_lock(%(lock_key)s)
