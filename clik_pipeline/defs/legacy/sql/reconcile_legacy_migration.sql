-- The legacy migration's counts, for its reconciliation check. Runs as clik_legacy_migrator.
--   original = archived + remaining: no legacy row lost or archived twice;
--   missing_*: archived rows marked as migrated whose event (or session) is not in the new
--   tables. Rows of days before %(horizon)s are left out: retention may have dropped them.
WITH baseline AS (
    SELECT legacy_rows + archived_rows AS original_rows, recorded_at
    FROM legacy_migration_baseline
),
archive AS (
    SELECT count(*) AS archived_rows,
           count(*) FILTER (WHERE migration_error IS NOT NULL) AS unmapped_rows,
           count(*) FILTER (WHERE migrated_to = 'analytics_page_views') AS page_views,
           count(*) FILTER (WHERE migrated_to = 'analytics_clicks') AS clicks,
           count(*) FILTER (WHERE migrated_to = 'analytics_sessions') AS sessions
    FROM analytics_events_archive
)
SELECT (SELECT original_rows FROM baseline) AS original_rows,
       (SELECT recorded_at FROM baseline) AS baseline_recorded_at,
       (SELECT count(*) FROM analytics_events) AS remaining_rows,
       archive.*,
       (SELECT count(*) FROM analytics_events_archive AS a
        WHERE a.migrated_to = 'analytics_page_views' AND a.event_time >= %(horizon)s
          AND NOT EXISTS (SELECT FROM analytics_page_views AS p
                          WHERE p.id = a.id AND p.viewed_at = a.event_time))
           AS missing_page_views,
       (SELECT count(*) FROM analytics_events_archive AS a
        WHERE a.migrated_to = 'analytics_clicks' AND a.event_time >= %(horizon)s
          AND NOT EXISTS (SELECT FROM analytics_clicks AS c
                          WHERE c.id = a.id AND c.clicked_at = a.event_time))
           AS missing_clicks,
       (SELECT count(*) FROM analytics_events_archive AS a
        WHERE a.migrated_to IS NOT NULL AND a.event_time >= %(horizon)s
          AND NOT EXISTS (SELECT FROM analytics_sessions AS s
                          WHERE s.session_id = a.session_id))
           AS missing_sessions,
       (SELECT coalesce(jsonb_object_agg(reason, rows), '{}')
        FROM (SELECT migration_error AS reason, count(*) AS rows
              FROM analytics_events_archive
              WHERE migration_error IS NOT NULL
              GROUP BY migration_error
              ORDER BY count(*) DESC
              LIMIT 20) AS reasons) AS unmapped_by_reason
FROM archive
