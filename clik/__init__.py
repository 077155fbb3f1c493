"""clik: analytics for digital business-card pages.

This package holds what every component shares (settings, where the database is, migrations,
the embedded PostgreSQL server) and the `clik` command line. It imports neither the ingest
service nor the Dagster pipeline, so both can depend on it.
"""
