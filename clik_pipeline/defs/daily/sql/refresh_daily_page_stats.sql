-- Replaces the rows of days [start_day, end_day) with one INSERT ... SELECT ... GROUP BY over
-- the raw rows of those days (migration 0005). Returns the rows written.
SELECT refresh_daily_page_stats(%(start_day)s, %(end_day)s) AS rows_written
