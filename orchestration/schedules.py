"""When runs start by the clock: the attention refresh every 4 hours, and every job
with every data test on every row each night (UTC)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, JobDefinition, ScheduleDefinition

from .assets import DATA_TESTS_TAG

ATTENTION_CRON = "0 */4 * * *"
NIGHTLY_CRON = "30 2 * * *"  # a quiet hour between two attention refreshes


def attention_schedule(job: JobDefinition) -> ScheduleDefinition:
    """New web-shop events in, the attention marts rebuilt: what the 4-hourly refresh
    of the system this replaces did. Its tests look at the rows of new loads."""
    return _utc_schedule("attention_every_4_hours", job, ATTENTION_CRON, "new_loads")


def nightly_schedule(job: JobDefinition) -> ScheduleDefinition:
    """Everything, with every data test on every row: what the scheduled and sensor
    runs leave out by testing new rows only."""
    return _utc_schedule("everything_nightly", job, NIGHTLY_CRON, "all")


def _utc_schedule(name: str, job: JobDefinition, cron: str, data_tests: str):
    return ScheduleDefinition(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        tags={DATA_TESTS_TAG: data_tests},
    )
