-- Clicks per day (UTC day of clicked_at), user code, share code, target and category.
CREATE TEMP TABLE expected_clicks ON COMMIT DROP AS
SELECT (clicked_at AT TIME ZONE 'UTC')::date AS date, user_code, share_code, click_target,
       click_category, count(*) AS clicks
FROM analytics_clicks
WHERE clicked_at >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
  AND clicked_at <  %(end_day)s::timestamp AT TIME ZONE 'UTC'
GROUP BY 1, 2, 3, 4, 5
