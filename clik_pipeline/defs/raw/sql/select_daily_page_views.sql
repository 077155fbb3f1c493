-- Page views of each of `days` that analytics_daily_user_stats holds (kept forever), with the
-- user codes it has for them. A day it has no rows for is missing from the answer.
SELECT date, sum(total_page_views)::bigint AS page_views, count(*) AS user_codes
FROM analytics_daily_user_stats
WHERE date = ANY (%(days)s::date[])
GROUP BY date
ORDER BY date
