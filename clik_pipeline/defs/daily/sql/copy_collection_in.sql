-- A collection handed over by the raw passes beside the aggregation, into the aggregation
-- transaction's own temporary table of the same name.
COPY {table} FROM STDIN (FORMAT binary)
