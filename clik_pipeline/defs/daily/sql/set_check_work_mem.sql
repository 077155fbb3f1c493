-- The checks group a day's raw rows again (as the refresh functions do, which set the same):
-- enough memory keeps those hash aggregates out of temporary files. Transaction-local.
SET LOCAL work_mem = '128MB'
