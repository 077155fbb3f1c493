-- Page views per day, as collect_expected_page_views.sql counted them.
SELECT date, sum(views)::bigint FROM expected_page_views GROUP BY date
