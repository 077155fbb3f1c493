"""Dagster definitions of clik: daily aggregates of the raw events, their checks, raw retention
and late-data handling. `clik_pipeline.definitions` is the code location."""
