"""Asset definitions: the raw tables the ingest service writes, the daily tables built here."""
