-- Day partitions of the event tables for first_day .. last_day (inclusive), moving any rows
-- waiting in the default partitions into them, so a day is read from its own partition.
SELECT ensure_raw_partitions(%(first_day)s, %(last_day)s) AS created
