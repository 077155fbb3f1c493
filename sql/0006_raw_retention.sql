-- Retention of raw events. Aggregates are kept forever; raw rows of expired days go.
--
-- drop_raw_events_before(horizon) removes every raw row older than the horizon (a UTC day):
-- whole day partitions are dropped (cheap, space returned to the operating system at once),
-- stray rows in the default partitions are deleted, and then the sessions whose whole span
-- lies before the horizon. It keeps the raw store a suffix in time (everything on or after the
-- horizon), which is what makes the session rule exact: a session goes only when all its events
-- are gone. The pipeline decides the horizon after checking which days are safe to drop.
-- It runs as the schema owner (dropping a partition needs ownership); only clik_pipeline may
-- call it, and it never touches today or later.

CREATE FUNCTION drop_raw_events_before(horizon date)
RETURNS TABLE (table_name text, day date, rows_deleted bigint, bytes_freed bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
SET timezone = 'UTC'
-- Dropping a partition waits for readers of its parent; ingest queues behind that wait, so
-- give up quickly rather than stall the service (the next run tries again).
SET lock_timeout = '10s'
AS $$
DECLARE
    parent      text;
    time_column text;
    partition   record;
    deleted     bigint;
    size        bigint;
BEGIN
    IF horizon > (now() AT TIME ZONE 'UTC')::date THEN
        RAISE EXCEPTION 'retention horizon % is in the future: only past days can be dropped', horizon;
    END IF;
    FOR parent, time_column IN
        VALUES ('analytics_page_views', 'viewed_at'), ('analytics_clicks', 'clicked_at')
    LOOP
        FOR partition IN
            SELECT c.relname, to_date(right(c.relname, 8), 'YYYYMMDD') AS partition_day
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = parent::regclass
              AND c.relname ~ '_p[0-9]{8}$'
              AND to_date(right(c.relname, 8), 'YYYYMMDD') < horizon
            ORDER BY 2
        LOOP
            EXECUTE format('SELECT count(*) FROM %I', partition.relname) INTO deleted;
            size := pg_total_relation_size(partition.relname::regclass);
            EXECUTE format('DROP TABLE %I', partition.relname);
            table_name := parent; day := partition.partition_day;
            rows_deleted := deleted; bytes_freed := size;
            RETURN NEXT;
        END LOOP;

        EXECUTE format('DELETE FROM %I WHERE %I < %L', parent || '_default', time_column,
                       horizon::timestamptz);
        GET DIAGNOSTICS deleted = ROW_COUNT;
        IF deleted > 0 THEN
            table_name := parent || '_default'; day := NULL;
            rows_deleted := deleted; bytes_freed := NULL;  -- space is reused, not returned
            RETURN NEXT;
        END IF;
    END LOOP;

    DELETE FROM analytics_sessions
    WHERE first_seen < horizon::timestamptz AND last_seen < horizon::timestamptz;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    table_name := 'analytics_sessions'; day := NULL;
    rows_deleted := deleted; bytes_freed := NULL;
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION drop_raw_events_before(date) IS
    'Removes all raw events and sessions before the horizon day; one row per dropped partition or table.';


-- The seed's entry point: keep the raw events of the last retention_days whole days (and today).
CREATE FUNCTION cleanup_old_raw_events(retention_days integer)
RETURNS TABLE (table_name text, day date, rows_deleted bigint, bytes_freed bigint)
LANGUAGE plpgsql
AS $$
BEGIN
    IF retention_days IS NULL OR retention_days < 1 THEN
        RAISE EXCEPTION 'retention_days must be at least 1, got %', retention_days;
    END IF;
    RETURN QUERY
    SELECT * FROM drop_raw_events_before((now() AT TIME ZONE 'UTC')::date - retention_days);
END
$$;

REVOKE EXECUTE ON FUNCTION drop_raw_events_before(date), cleanup_old_raw_events(integer)
    FROM PUBLIC;
