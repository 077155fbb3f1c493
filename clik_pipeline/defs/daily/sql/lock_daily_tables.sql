-- Taken first in the aggregation transaction, before its REPEATABLE READ snapshot exists:
-- a writer that committed the same days meanwhile is then visible to our DELETE instead of
-- making it fail with a serialization error. Same mode the refresh functions take.
LOCK TABLE analytics_daily_user_stats, analytics_daily_group_stats,
           analytics_daily_click_targets, analytics_daily_page_stats
    IN SHARE ROW EXCLUSIVE MODE
