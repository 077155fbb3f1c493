-- Answers when the database is up and the service's role can see its tables.
SELECT count(*) FROM (SELECT FROM analytics_sessions LIMIT 0) AS nothing
