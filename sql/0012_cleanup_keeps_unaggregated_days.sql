-- cleanup_old_raw_events(retention_days), the seed's entry point, dropped every expired day
-- whether or not it had been aggregated. It now keeps the raw store from the first expired day
-- whose events the daily tables do not account for: that day's page views, clicks and
-- sessions started must equal its totals in analytics_daily_user_stats. Later days are kept
-- too (the raw store stays a suffix in time, see 0006), and a WARNING names the day and the
-- counts. One grouped pass over the expired rows, i.e. over the days not dropped yet.
--
-- raw_retention_job (clik_pipeline/retention.py) goes further: it also requires the four daily
-- assets materialized with passing checks in the Dagster instance, which SQL cannot see.
-- Days whose only raw rows are sessions without events are not compared: the sessions of days
-- before an earlier horizon that still run past it stay behind, and would never match.

CREATE OR REPLACE FUNCTION cleanup_old_raw_events(retention_days integer)
RETURNS TABLE (table_name text, day date, rows_deleted bigint, bytes_freed bigint)
LANGUAGE plpgsql
SET timezone = 'UTC'
AS $$
#variable_conflict use_column
DECLARE
    horizon   date;
    unchecked record;
BEGIN
    IF retention_days IS NULL OR retention_days < 1 THEN
        RAISE EXCEPTION 'retention_days must be at least 1, got %', retention_days;
    END IF;
    horizon := (now() AT TIME ZONE 'UTC')::date - retention_days;

    WITH raw_events AS (
        SELECT viewed_at::date AS day, count(*) AS page_views, 0 AS clicks
        FROM analytics_page_views WHERE viewed_at < horizon GROUP BY 1
        UNION ALL
        SELECT clicked_at::date, 0, count(*)
        FROM analytics_clicks WHERE clicked_at < horizon GROUP BY 1
    ),
    raw_days AS (
        SELECT raw_events.day, sum(raw_events.page_views) AS page_views,
               sum(raw_events.clicks) AS clicks
        FROM raw_events GROUP BY raw_events.day
    ),
    raw_sessions AS (
        SELECT first_seen::date AS day, count(*) AS sessions
        FROM analytics_sessions WHERE first_seen < horizon GROUP BY 1
    ),
    aggregated AS (
        SELECT date AS day, sum(total_sessions) AS sessions, sum(total_page_views) AS page_views,
               sum(total_clicks) AS clicks
        FROM analytics_daily_user_stats WHERE date < horizon GROUP BY date
    )
    SELECT raw_days.day,
           coalesce(raw_sessions.sessions, 0) AS raw_sessions,
           raw_days.page_views AS raw_page_views,
           raw_days.clicks AS raw_clicks,
           coalesce(aggregated.sessions, 0) AS sessions,
           coalesce(aggregated.page_views, 0) AS page_views,
           coalesce(aggregated.clicks, 0) AS clicks
    INTO unchecked
    FROM raw_days
    LEFT JOIN raw_sessions USING (day)
    LEFT JOIN aggregated USING (day)
    WHERE (coalesce(raw_sessions.sessions, 0), raw_days.page_views, raw_days.clicks)
          IS DISTINCT FROM (coalesce(aggregated.sessions, 0), coalesce(aggregated.page_views, 0),
                            coalesce(aggregated.clicks, 0))
    ORDER BY raw_days.day
    LIMIT 1;

    IF FOUND THEN
        RAISE WARNING 'kept the raw events from % on: that day is not aggregated (raw sessions, page views, clicks: %, %, %; analytics_daily_user_stats: %, %, %)',
            unchecked.day, unchecked.raw_sessions, unchecked.raw_page_views, unchecked.raw_clicks,
            unchecked.sessions, unchecked.page_views, unchecked.clicks
            USING HINT = format('run aggregate_analytics_daily(%L) or the daily_aggregation_job, then clean up again',
                                unchecked.day);
        horizon := unchecked.day;
    END IF;

    RETURN QUERY SELECT * FROM drop_raw_events_before(horizon);
END
$$;
