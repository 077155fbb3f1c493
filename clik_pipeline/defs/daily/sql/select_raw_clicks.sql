-- Clicks per day, as collect_expected_clicks.sql counted them.
SELECT date, sum(clicks)::bigint FROM expected_clicks GROUP BY date
