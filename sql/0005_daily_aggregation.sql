-- Daily aggregation: each refresh function replaces the rows of days start_day .. end_day - 1
-- (UTC) in one table with a DELETE and one INSERT ... SELECT ... GROUP BY over the raw rows of
-- that window. Called inside one transaction, a day is replaced atomically; readers see the old
-- rows until commit. Writers of one daily table queue behind each other (SHARE ROW EXCLUSIVE),
-- so two refreshes of the same day can never both insert.
--
-- Day rules: page views and clicks count on the day they happened, sessions on the day they
-- started (first_seen).

-- Activity per user code, share code and day: the shared base of the user and group stats.
CREATE FUNCTION daily_share_code_activity(start_day date, end_day date)
RETURNS TABLE (user_code text, share_code text, date date,
               sessions bigint, page_views bigint, clicks bigint)
LANGUAGE sql
STABLE
AS $$
    SELECT user_code, share_code, date, sum(sessions), sum(page_views), sum(clicks)
    FROM (
        SELECT user_code, share_code, (first_seen AT TIME ZONE 'UTC')::date AS date,
               1 AS sessions, 0 AS page_views, 0 AS clicks
        FROM analytics_sessions
        WHERE first_seen >= start_day::timestamp AT TIME ZONE 'UTC'
          AND first_seen <  end_day::timestamp AT TIME ZONE 'UTC'
        UNION ALL
        SELECT user_code, share_code, (viewed_at AT TIME ZONE 'UTC')::date, 0, 1, 0
        FROM analytics_page_views
        WHERE viewed_at >= start_day::timestamp AT TIME ZONE 'UTC'
          AND viewed_at <  end_day::timestamp AT TIME ZONE 'UTC'
        UNION ALL
        SELECT user_code, share_code, (clicked_at AT TIME ZONE 'UTC')::date, 0, 0, 1
        FROM analytics_clicks
        WHERE clicked_at >= start_day::timestamp AT TIME ZONE 'UTC'
          AND clicked_at <  end_day::timestamp AT TIME ZONE 'UTC'
    ) AS activity
    GROUP BY user_code, share_code, date
$$;


CREATE FUNCTION refresh_daily_group_stats(start_day date, end_day date)
RETURNS bigint
LANGUAGE plpgsql
SET work_mem = '128MB'
AS $$
DECLARE
    written bigint;
BEGIN
    IF end_day <= start_day THEN
        RAISE EXCEPTION 'empty day range % .. %', start_day, end_day;
    END IF;
    LOCK TABLE analytics_daily_group_stats IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM analytics_daily_group_stats WHERE date >= start_day AND date < end_day;
    INSERT INTO analytics_daily_group_stats
        (user_code, share_code, date, total_sessions, total_page_views, total_clicks)
    SELECT user_code, share_code, date, sessions, page_views, clicks
    FROM daily_share_code_activity(start_day, end_day);
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;


CREATE FUNCTION refresh_daily_user_stats(start_day date, end_day date)
RETURNS bigint
LANGUAGE plpgsql
SET work_mem = '128MB'
AS $$
DECLARE
    written bigint;
BEGIN
    IF end_day <= start_day THEN
        RAISE EXCEPTION 'empty day range % .. %', start_day, end_day;
    END IF;
    LOCK TABLE analytics_daily_user_stats IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM analytics_daily_user_stats WHERE date >= start_day AND date < end_day;
    INSERT INTO analytics_daily_user_stats
        (user_code, date, total_sessions, total_page_views, total_clicks, unique_share_codes)
    SELECT user_code, date, sum(sessions), sum(page_views), sum(clicks),
           coalesce(array_agg(share_code ORDER BY share_code)
                        FILTER (WHERE share_code IS NOT NULL), '{}')
    FROM daily_share_code_activity(start_day, end_day)
    GROUP BY user_code, date;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;


CREATE FUNCTION refresh_daily_click_targets(start_day date, end_day date)
RETURNS bigint
LANGUAGE plpgsql
SET work_mem = '128MB'
AS $$
DECLARE
    written bigint;
BEGIN
    IF end_day <= start_day THEN
        RAISE EXCEPTION 'empty day range % .. %', start_day, end_day;
    END IF;
    LOCK TABLE analytics_daily_click_targets IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM analytics_daily_click_targets WHERE date >= start_day AND date < end_day;
    INSERT INTO analytics_daily_click_targets
        (user_code, share_code, date, click_target, click_category, click_count)
    SELECT user_code, share_code, (clicked_at AT TIME ZONE 'UTC')::date,
           click_target, click_category, count(*)
    FROM analytics_clicks
    WHERE clicked_at >= start_day::timestamp AT TIME ZONE 'UTC'
      AND clicked_at <  end_day::timestamp AT TIME ZONE 'UTC'
    GROUP BY 1, 2, 3, 4, 5;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;


CREATE FUNCTION refresh_daily_page_stats(start_day date, end_day date)
RETURNS bigint
LANGUAGE plpgsql
SET work_mem = '128MB'
AS $$
DECLARE
    written bigint;
BEGIN
    IF end_day <= start_day THEN
        RAISE EXCEPTION 'empty day range % .. %', start_day, end_day;
    END IF;
    LOCK TABLE analytics_daily_page_stats IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM analytics_daily_page_stats WHERE date >= start_day AND date < end_day;
    INSERT INTO analytics_daily_page_stats (user_code, share_code, date, page_type, view_count)
    SELECT user_code, share_code, (viewed_at AT TIME ZONE 'UTC')::date, page_type, count(*)
    FROM analytics_page_views
    WHERE viewed_at >= start_day::timestamp AT TIME ZONE 'UTC'
      AND viewed_at <  end_day::timestamp AT TIME ZONE 'UTC'
    GROUP BY 1, 2, 3, 4;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;


-- The seed's entry point: all four daily tables for one day. Idempotent.
CREATE FUNCTION aggregate_analytics_daily(day date)
RETURNS TABLE (table_name text, rows_written bigint)
LANGUAGE sql
AS $$
    SELECT 'analytics_daily_user_stats', refresh_daily_user_stats(day, day + 1)
    UNION ALL
    SELECT 'analytics_daily_group_stats', refresh_daily_group_stats(day, day + 1)
    UNION ALL
    SELECT 'analytics_daily_click_targets', refresh_daily_click_targets(day, day + 1)
    UNION ALL
    SELECT 'analytics_daily_page_stats', refresh_daily_page_stats(day, day + 1)
$$;
