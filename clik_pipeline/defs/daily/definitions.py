"""The daily domain: the four daily tables, their checks, job, schedule and sensors."""

from dagster import Definitions

from clik_pipeline.defs.daily.assets import daily_tables
from clik_pipeline.defs.daily.jobs import daily_aggregation_job
from clik_pipeline.defs.daily.schedules import daily_aggregation_schedule
from clik_pipeline.defs.daily.sensors import late_events_sensor

defs = Definitions(
    assets=[daily_tables],  # the four daily tables; their checks are declared with them
    jobs=[daily_aggregation_job],
    schedules=[daily_aggregation_schedule],
    sensors=[late_events_sensor],
)
