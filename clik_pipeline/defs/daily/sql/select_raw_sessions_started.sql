-- Sessions started per day, as collect_expected_sessions.sql counted them (recorded beside the
-- aggregates in each day's materialization metadata).
SELECT date, sum(sessions)::bigint FROM expected_sessions GROUP BY date
