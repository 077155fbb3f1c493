-- Whether a role of this name exists (a row, or none).
SELECT 1 FROM pg_roles WHERE rolname = %(name)s
