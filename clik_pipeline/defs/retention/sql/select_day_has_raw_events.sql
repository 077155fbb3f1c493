-- Whether any raw row belongs to the UTC day: a session started that day, or a page view or
-- click that day. Each probe reads at most one day partition.
SELECT EXISTS (SELECT FROM analytics_sessions
               WHERE first_seen >= %(day)s::timestamp AT TIME ZONE 'UTC'
                 AND first_seen < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC')
    OR EXISTS (SELECT FROM analytics_page_views
               WHERE viewed_at >= %(day)s::timestamp AT TIME ZONE 'UTC'
                 AND viewed_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC')
    OR EXISTS (SELECT FROM analytics_clicks
               WHERE clicked_at >= %(day)s::timestamp AT TIME ZONE 'UTC'
                 AND clicked_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC')
    AS has_rows
