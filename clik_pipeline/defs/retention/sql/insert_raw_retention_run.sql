-- Recorded in the transaction of the drop itself, so the log never claims more than was done.
INSERT INTO analytics_raw_retention_runs (horizon, rows_deleted, bytes_freed, refused_days)
VALUES (%(horizon)s, %(rows_deleted)s, %(bytes_freed)s, %(refused_days)s)
