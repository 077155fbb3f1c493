-- Drops every raw row before the horizon day (whole day partitions, stray rows of the default
-- partitions, sessions whose whole span is before it); one row per table or partition touched.
SELECT table_name, day, rows_deleted, bytes_freed FROM drop_raw_events_before(%(horizon)s)
