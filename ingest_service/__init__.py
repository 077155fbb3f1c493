"""The ingest service: receives the tracker's batches and writes raw events to PostgreSQL."""
