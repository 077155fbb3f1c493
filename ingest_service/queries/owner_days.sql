-- Every day of a range, quiet days as zeros (generate_series), with its contact clicks and
-- whether it is still provisional (migration 0060: today, and a day not yet finalized).
SELECT day::date AS date,
       coalesce(u.total_sessions, 0) AS total_sessions,
       coalesce(u.total_page_views, 0) AS total_page_views,
       coalesce(u.total_clicks, 0) AS total_clicks,
       coalesce(c.contact_clicks, 0) AS contact_clicks,
       clik_day_is_provisional(day::date, u.computed_at) AS provisional
FROM generate_series(%(first)s::date, %(until)s::date - 1, interval '1 day') AS day
LEFT JOIN analytics_daily_user_stats u
       ON u.user_code = %(user_code)s AND u.date = day::date
LEFT JOIN (
    SELECT date, sum(click_count)::bigint AS contact_clicks
    FROM analytics_daily_click_targets
    WHERE user_code = %(user_code)s AND date >= %(first)s AND date < %(until)s
      AND click_category = 'contact'
    GROUP BY date
) c ON c.date = day::date
ORDER BY day
