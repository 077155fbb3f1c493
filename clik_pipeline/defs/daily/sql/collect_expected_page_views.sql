-- Page views per day (UTC day of viewed_at), user code, the row's own share code and page type.
CREATE TEMP TABLE expected_page_views ON COMMIT DROP AS
SELECT (viewed_at AT TIME ZONE 'UTC')::date AS date, user_code, share_code, page_type,
       count(*) AS views
FROM analytics_page_views
WHERE viewed_at >= %(start_day)s::timestamp AT TIME ZONE 'UTC'
  AND viewed_at <  %(end_day)s::timestamp AT TIME ZONE 'UTC'
GROUP BY 1, 2, 3, 4
