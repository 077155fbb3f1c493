-- Aggregation holds this (shared) around each transaction and retention takes it exclusively:
-- a day can never be dropped between reading the retention horizon and aggregating that day.
-- Key: 'clik' (0x636C696B) and 20 (migration 0020, the retention log).
SELECT pg_advisory_lock_shared(1668049259, 20)
