"""The raw domain: the tables the ingest service writes, observed per day, and their volume
check."""

from dagster import Definitions

from clik_pipeline.defs.raw.assets import raw_event_tables
from clik_pipeline.defs.raw.sensors import raw_tables_observation_sensor
from clik_pipeline.defs.raw.volume import raw_volume_check_job, raw_volume_is_typical

defs = Definitions(
    assets=raw_event_tables,
    asset_checks=[raw_volume_is_typical],
    jobs=[raw_volume_check_job],
    sensors=[raw_tables_observation_sensor],
)
