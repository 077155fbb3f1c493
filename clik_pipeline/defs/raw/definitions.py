"""The raw domain: the tables the ingest service writes."""

from dagster import Definitions

from clik_pipeline.defs.raw.assets import raw_event_tables

defs = Definitions(assets=raw_event_tables)
