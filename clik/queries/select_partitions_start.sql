-- The first daily partition a database needs (`clik env`, `clik dev`): the UTC day it was first
-- migrated, or the earliest day of data it holds if earlier (aggregates kept after retention,
-- raw sessions, legacy events waiting to be migrated). Each probe reads one end of an index.
SELECT least(
           (SELECT (min(applied_at) AT TIME ZONE 'UTC')::date FROM schema_migrations),
           (SELECT min(date) FROM analytics_daily_user_stats),
           (SELECT (min(first_seen) AT TIME ZONE 'UTC')::date FROM analytics_sessions),
           (SELECT (min(created_at) AT TIME ZONE 'UTC')::date FROM analytics_events)
       ) AS partitions_start
