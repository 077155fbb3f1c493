-- The first query of a REPEATABLE READ transaction fixes its snapshot: its time says which raw
-- rows the aggregates of this transaction include (the late-data sensor compares it with
-- received_at); exported, the checks' raw passes beside the aggregation read on it too.
SELECT clock_timestamp() AS snapshot_at, pg_export_snapshot() AS snapshot_id
