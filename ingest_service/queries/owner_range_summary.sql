-- Totals of a range and of the range just before it (same length), in one statement.
-- Contact clicks are clicks of category 'contact'; the contact rate is contact clicks per
-- session as a percentage (NULL without sessions). Row-level security applies to every table.
WITH periods (period, first, until) AS (
    VALUES ('current', %(first)s::date, %(until)s::date),
           ('previous', %(previous_first)s::date, %(first)s::date)
),
totals AS (
    SELECT p.period, p.first, p.until,
           coalesce(u.sessions, 0) AS sessions,
           coalesce(u.page_views, 0) AS page_views,
           coalesce(u.clicks, 0) AS clicks,
           coalesce(c.contact_clicks, 0) AS contact_clicks,
           u.computed_at
    FROM periods p
    CROSS JOIN LATERAL (
        SELECT sum(total_sessions)::bigint AS sessions,
               sum(total_page_views)::bigint AS page_views,
               sum(total_clicks)::bigint AS clicks,
               max(computed_at) AS computed_at
        FROM analytics_daily_user_stats
        WHERE user_code = %(user_code)s AND date >= p.first AND date < p.until
    ) u
    CROSS JOIN LATERAL (
        SELECT sum(click_count)::bigint AS contact_clicks
        FROM analytics_daily_click_targets
        WHERE user_code = %(user_code)s AND date >= p.first AND date < p.until
          AND click_category = 'contact'
    ) c
)
SELECT period,
       first AS "from",
       until - 1 AS "to",
       sessions,
       page_views,
       clicks,
       contact_clicks,
       (100.0 * contact_clicks / nullif(sessions, 0))::float8 AS contact_rate,
       computed_at AS latest_computed_at
FROM totals
ORDER BY period
