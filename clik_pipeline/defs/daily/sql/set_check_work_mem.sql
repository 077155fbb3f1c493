-- The checks' passes group each day's raw rows per user code and share code (about 50,000
-- groups a day at a million visitors), their roll-ups the range's: enough memory keeps those
-- hash aggregates out of temporary files (the refresh functions set the same). Transaction-local.
SET LOCAL work_mem = '128MB'
