-- Which daily rows are provisional (docs/contract.md 6): today's, refreshed while events
-- arrive, and any day not yet aggregated after its finalizing run. The daily schedule
-- aggregates the previous UTC day at 02:00 UTC (clik_pipeline/defs/daily/schedules.py,
-- FINALIZED_AFTER): a day's rows are final once they were computed at or after 02:00 UTC of
-- the next day. Late events re-aggregate a final day later, and it stays final.
--
-- A day without rows (no traffic) is provisional until that time has come.

CREATE FUNCTION clik_day_is_provisional(day date, computed_at timestamptz)
RETURNS boolean
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT coalesce(computed_at, now())
           < ((day + 1)::timestamp + interval '2 hours') AT TIME ZONE 'UTC'
$$;

COMMENT ON FUNCTION clik_day_is_provisional(date, timestamptz) IS
    'Whether a day''s daily rows (computed at computed_at; NULL: none) are still provisional.';

GRANT EXECUTE ON FUNCTION clik_day_is_provisional(date, timestamptz) TO clik_reader, clik_pipeline;
