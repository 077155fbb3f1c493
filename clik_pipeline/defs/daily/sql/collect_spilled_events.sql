-- The events of the crossing sessions after the day they started on, up to their last_seen,
-- looked up by session id (index probes in the partitions of those days only), per session
-- start day, event day and the event's user code, with the sums of their session ids' hashes.
CREATE TEMP TABLE spilled_events ON COMMIT DROP AS
SELECT first_day, event_day, user_code,
       coalesce(sum(page_view_weight), 0) AS page_view_weights,
       coalesce(sum(click_weight), 0) AS click_weights
FROM (
    SELECT s.first_day, e.*
    FROM crossing_sessions AS s
    CROSS JOIN LATERAL (
        SELECT (viewed_at AT TIME ZONE 'UTC')::date AS event_day, user_code,
               hashtext(session_id) AS page_view_weight, NULL::integer AS click_weight
        FROM analytics_page_views
        WHERE session_id = s.session_id
          AND viewed_at >= (s.first_day + 1)::timestamp AT TIME ZONE 'UTC'
          AND viewed_at <= s.last_seen
        UNION ALL
        SELECT (clicked_at AT TIME ZONE 'UTC')::date, user_code, NULL, hashtext(session_id)
        FROM analytics_clicks
        WHERE session_id = s.session_id
          AND clicked_at >= (s.first_day + 1)::timestamp AT TIME ZONE 'UTC'
          AND clicked_at <= s.last_seen
    ) AS e
) AS spilled
GROUP BY first_day, event_day, user_code
