-- A collection the raw passes filled beside the aggregation, as it is handed over.
COPY {table} TO STDOUT (FORMAT binary)
