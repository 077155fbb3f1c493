-- Exclusive counterpart of lock_raw_retention_shared.sql, released at commit.
SELECT pg_advisory_xact_lock(1668049259, 20)
