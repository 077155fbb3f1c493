-- The first statement of the checks' raw passes beside the aggregation (raw_passes.py): they
-- read the raw rows on the aggregation transaction's own snapshot (exported by
-- select_snapshot.sql), so they see exactly the rows the aggregates come from.
SET TRANSACTION SNAPSHOT {snapshot}
