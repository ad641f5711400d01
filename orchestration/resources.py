"""Dagster resources: the warehouse a run writes (held by one writer at a time) and dbt."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from dagster_dbt import DbtCliResource

from ingest import settings
from ingest.pipeline import (
    IngestReport,
    ingest_event_files,
    ingest_exchange_rates,
    ingest_marketplace_files,
)

from .lock import writer_lock

# a CLI run holding the warehouse is waited for (it finishes), not failed on
LOCK_WAIT_SECONDS = 1800.0


class Warehouse(ConfigurableResource):
    """The warehouse of one target. A run holds its writer lock from its first step to
    its last, so a `warehouse run` from the CLI and a Dagster run never write it at
    once; Dagster's run queue keeps its own runs to one per warehouse before that."""

    target: str = "duckdb"
    lock_wait_seconds: float = LOCK_WAIT_SECONDS

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext):
        holder = f"dagster run {context.run.run_id[:8]}" if context.run else "dagster"
        with writer_lock(self.target, holder, wait_seconds=self.lock_wait_seconds):
            yield self

    def ingest_exchange_rates(self) -> IngestReport:
        return ingest_exchange_rates(
            settings.ecb_rate_sources(), self.target, settings.marketplace_inbox()
        )

    def ingest_marketplace_files(self) -> IngestReport:
        return ingest_marketplace_files(settings.marketplace_inbox(), self.target, quiet=True)

    def ingest_event_files(self) -> IngestReport:
        inbox = settings.events_inbox()
        return ingest_event_files(inbox, self.target, quiet=True) if inbox else IngestReport()


def dbt_executable() -> str:
    """dbt from this virtual environment, never whichever `dbt` is first on PATH."""
    return str(Path(sys.executable).with_name("dbt"))


def dbt_resource(target: str) -> DbtCliResource:
    return DbtCliResource(
        project_dir=str(settings.DBT_PROJECT_DIR),
        profiles_dir=str(settings.DBT_PROJECT_DIR),
        target=settings.dbt_target_name(target),
        dbt_executable=dbt_executable(),
    )
