"""The retention domain: the weekly job that drops expired raw days."""

from dagster import Definitions

from clik_pipeline.defs.retention.job import raw_retention_job
from clik_pipeline.defs.retention.schedules import raw_retention_schedule

defs = Definitions(jobs=[raw_retention_job], schedules=[raw_retention_schedule])
