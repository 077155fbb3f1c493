-- How far raw retention has gone: the pipeline records each drop here, in the transaction of
-- the drop itself. Raw rows of days before the latest horizon are gone for good, so the
-- pipeline never re-aggregates such a day while it has no raw rows (that would replace
-- kept-forever aggregates with nothing); a day before the horizon that holds raw rows again,
-- e.g. imported legacy events, is aggregated as usual.
--
-- Only drops made by the pipeline's raw_retention_job are recorded: a direct call of
-- cleanup_old_raw_events() leaves no trace here.

CREATE TABLE analytics_raw_retention_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    horizon      date NOT NULL,
    ran_at       timestamptz NOT NULL DEFAULT now(),
    rows_deleted bigint NOT NULL CHECK (rows_deleted >= 0),
    bytes_freed  bigint NOT NULL CHECK (bytes_freed >= 0),
    -- days before the retention period that were kept: not materialized with passing checks
    refused_days date[] NOT NULL DEFAULT '{}'
);

COMMENT ON TABLE analytics_raw_retention_runs IS
    'Raw retention log: raw events before horizon were dropped; refused_days were kept.';

ALTER TABLE analytics_raw_retention_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_raw_retention_runs FORCE ROW LEVEL SECURITY;

GRANT SELECT, INSERT ON analytics_raw_retention_runs TO clik_pipeline;
CREATE POLICY pipeline_reads_retention_runs ON analytics_raw_retention_runs
    FOR SELECT TO clik_pipeline USING (true);
CREATE POLICY pipeline_records_retention_runs ON analytics_raw_retention_runs
    FOR INSERT TO clik_pipeline WITH CHECK (true);
