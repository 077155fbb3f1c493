"""The daily domain: the four daily tables, their checks, job, schedule and sensors."""

from dagster import Definitions

from clik_pipeline.defs.daily.assets import daily_tables
from clik_pipeline.defs.daily.freshness import (
    daily_finalization_deadline,
    finalization_deadline_job,
    finalization_deadline_schedule,
)
from clik_pipeline.defs.daily.jobs import daily_aggregation_job
from clik_pipeline.defs.daily.schedules import daily_aggregation_schedule
from clik_pipeline.defs.daily.sensors import late_events_sensor
from clik_pipeline.defs.daily.today import today_refresh_sensor

defs = Definitions(
    assets=[daily_tables],  # the four daily tables; their checks are declared with them
    asset_checks=[daily_finalization_deadline],
    jobs=[daily_aggregation_job, finalization_deadline_job],
    schedules=[daily_aggregation_schedule, finalization_deadline_schedule],
    sensors=[late_events_sensor, today_refresh_sensor],
)
