-- Whether any page view or click belongs to the UTC day. (Sessions that started that day may
-- outlive its events: retention keeps a session until all its events are gone.)
SELECT EXISTS (SELECT FROM analytics_page_views
               WHERE viewed_at >= %(day)s::timestamp AT TIME ZONE 'UTC'
                 AND viewed_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC')
    OR EXISTS (SELECT FROM analytics_clicks
               WHERE clicked_at >= %(day)s::timestamp AT TIME ZONE 'UTC'
                 AND clicked_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC')
    AS has_events
