SELECT date, user_code, share_code, page_type, view_count
FROM (
    SELECT *, row_number() OVER (PARTITION BY date ORDER BY view_count DESC, user_code, page_type) AS rank
    FROM analytics_daily_page_stats
    WHERE date >= %(start_day)s AND date < %(end_day)s
) AS ranked
WHERE rank <= %(rows_per_day)s
ORDER BY date, rank
