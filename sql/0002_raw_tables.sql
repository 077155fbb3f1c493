-- Raw events, as the ingest service writes them.
--
-- Page views and clicks are partitioned by UTC day on their event time so that retention drops
-- a whole expired day (DROP TABLE of one partition) instead of deleting millions of rows.
-- Their primary key must contain the partition key, so it is (id, event time): the tracker never
-- changes either on a retry, so a retried event meets its stored copy. The ingest service also
-- looks an id up across the days it still accepts, so a reused id is a duplicate too.
--
-- There is deliberately no FOREIGN KEY from the partitioned tables to analytics_sessions: every
-- session deleted by retention would probe the session_id index of every partition (measured:
-- 472 us per session with 90 day partitions, against 6 us without; at 0.9M sessions a day that
-- is minutes of work each day). Referential integrity is kept by the counter triggers instead
-- (0003): inserting an event creates or updates its session in the same statement, so no event
-- can exist without its session.

CREATE TABLE analytics_sessions (
    session_id  text PRIMARY KEY CHECK (length(session_id) BETWEEN 1 AND 128),
    user_code   text NOT NULL CHECK (length(user_code) BETWEEN 1 AND 64),
    share_code  text,
    contact_id  text,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    page_views  integer NOT NULL DEFAULT 0 CHECK (page_views >= 0),
    clicks      integer NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    ip_address  text,
    user_agent  text,
    referrer    text,
    -- When the server created the session, or last moved its first_seen to an earlier time:
    -- the late-data sensor reads it to find days whose session counts changed.
    received_at timestamptz NOT NULL DEFAULT now(),
    CHECK (last_seen >= first_seen)
) WITH (fillfactor = 90);  -- room for HOT updates of the counters

COMMENT ON TABLE analytics_sessions IS 'One row per visitor session; counters kept by triggers.';

CREATE INDEX idx_sessions_user_code_first_seen ON analytics_sessions (user_code, first_seen DESC);
CREATE INDEX idx_sessions_share_code ON analytics_sessions (share_code);
-- A day's sessions (aggregation) and expired sessions (retention) are ranges of first_seen.
CREATE INDEX idx_sessions_first_seen ON analytics_sessions (first_seen);
CREATE INDEX idx_sessions_received_at ON analytics_sessions USING brin (received_at);


CREATE TABLE analytics_page_views (
    id          uuid NOT NULL,
    session_id  text NOT NULL CHECK (length(session_id) BETWEEN 1 AND 128),
    user_code   text NOT NULL CHECK (length(user_code) BETWEEN 1 AND 64),
    share_code  text,
    contact_id  text,
    page_type   text NOT NULL CHECK (length(page_type) BETWEEN 1 AND 64),
    viewed_at   timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT analytics_page_views_pkey PRIMARY KEY (id, viewed_at)
) PARTITION BY RANGE (viewed_at);

COMMENT ON TABLE analytics_page_views IS 'One row per page view, partitioned by UTC day of viewed_at.';

CREATE INDEX idx_page_views_user_code_viewed_at ON analytics_page_views (user_code, viewed_at DESC);
CREATE INDEX idx_page_views_session_id ON analytics_page_views (session_id);
CREATE INDEX idx_page_views_received_at ON analytics_page_views USING brin (received_at);

-- Catches any event time without a day partition (far past or future), so none is refused.
CREATE TABLE analytics_page_views_default PARTITION OF analytics_page_views DEFAULT;


CREATE TABLE analytics_clicks (
    id             uuid NOT NULL,
    session_id     text NOT NULL CHECK (length(session_id) BETWEEN 1 AND 128),
    user_code      text NOT NULL CHECK (length(user_code) BETWEEN 1 AND 64),
    share_code     text,
    contact_id     text,
    click_target   text NOT NULL CHECK (length(click_target) BETWEEN 1 AND 128),
    click_category text,
    clicked_at     timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT analytics_clicks_pkey PRIMARY KEY (id, clicked_at)
) PARTITION BY RANGE (clicked_at);

COMMENT ON TABLE analytics_clicks IS 'One row per click, partitioned by UTC day of clicked_at.';

CREATE INDEX idx_clicks_user_code_clicked_at ON analytics_clicks (user_code, clicked_at DESC);
CREATE INDEX idx_clicks_session_id ON analytics_clicks (session_id);
CREATE INDEX idx_clicks_received_at ON analytics_clicks USING brin (received_at);

CREATE TABLE analytics_clicks_default PARTITION OF analytics_clicks DEFAULT;


-- Creates the missing day partitions of both event tables for first_day..last_day (inclusive).
-- Rows already waiting in the default partition for such a day are moved into the new
-- partition first (a partition cannot be created over rows the default partition holds).
-- Runs as the schema owner so the pipeline role can call it without owning the tables.
CREATE FUNCTION ensure_raw_partitions(first_day date, last_day date)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
SET timezone = 'UTC'
AS $$
DECLARE
    parent       text;
    time_column  text;
    day          date;
    partition    text;
    created      integer := 0;
BEGIN
    IF last_day - first_day > 366 THEN
        RAISE EXCEPTION 'ensure_raw_partitions: at most 367 days at once, asked for % .. %',
            first_day, last_day;
    END IF;
    FOR parent, time_column IN
        VALUES ('analytics_page_views', 'viewed_at'), ('analytics_clicks', 'clicked_at')
    LOOP
        FOR day IN SELECT generate_series(first_day, last_day, interval '1 day')::date LOOP
            partition := format('%s_p%s', parent, to_char(day, 'YYYYMMDD'));
            CONTINUE WHEN to_regclass(partition) IS NOT NULL;
            -- Hold back inserts into the default partition while its rows move out; the lock
            -- also makes a concurrent caller wait, so look again once it is held.
            EXECUTE format('LOCK TABLE %I IN EXCLUSIVE MODE', parent || '_default');
            CONTINUE WHEN to_regclass(partition) IS NOT NULL;
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                           partition, parent);
            EXECUTE format(
                'WITH moved AS (DELETE FROM %1$I WHERE %3$I >= %4$L AND %3$I < %5$L RETURNING *) '
                'INSERT INTO %2$I SELECT * FROM moved',
                parent || '_default', partition, time_column, day, day + 1);
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           parent, partition, day::timestamptz, (day + 1)::timestamptz);
            created := created + 1;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;

COMMENT ON FUNCTION ensure_raw_partitions(date, date) IS
    'Creates missing day partitions of the event tables, moving waiting rows out of the default partition; returns how many it created.';
