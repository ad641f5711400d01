"""When runs start by the clock: the attention refresh every 4 hours (UTC)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, JobDefinition, ScheduleDefinition

ATTENTION_CRON = "0 */4 * * *"


def attention_schedule(job: JobDefinition) -> ScheduleDefinition:
    """New web-shop events in, the attention marts rebuilt: what the 4-hourly refresh
    of the system this replaces did."""
    return ScheduleDefinition(
        name="attention_every_4_hours",
        job=job,
        cron_schedule=ATTENTION_CRON,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
    )
