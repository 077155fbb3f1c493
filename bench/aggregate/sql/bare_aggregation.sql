-- The four GROUP BY queries of one day, run bare (what the assets call, without Dagster).
SELECT refresh_daily_user_stats(%(day)s, %(day)s + 1),
       refresh_daily_group_stats(%(day)s, %(day)s + 1),
       refresh_daily_click_targets(%(day)s, %(day)s + 1),
       refresh_daily_page_stats(%(day)s, %(day)s + 1)
