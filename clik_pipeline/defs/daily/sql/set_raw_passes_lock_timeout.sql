-- The raw passes beside the aggregation give up a lock wait after a second: the aggregation may
-- be waiting for them outside the database, where no deadlock detector sees the cycle (a DDL
-- statement queued behind the aggregation's locks, the passes queued behind it). The
-- aggregation then runs the passes itself. Transaction-local.
SET LOCAL lock_timeout = '1s'
