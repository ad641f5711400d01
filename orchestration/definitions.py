"""Dagster definitions of the warehouse (`make ui`): assets, jobs, schedule, sensor.

The target is `WAREHOUSE_TARGET` (duckdb by default, or postgres), read where the
code is loaded; the warehouse itself comes from the same variables as the CLI's.
Every job runs its steps in one process (DuckDB admits one writing process) and is
tagged with its warehouse, so the run queue (orchestration/dagster.yaml) runs one
job per warehouse at a time."""

from __future__ import annotations

import os

from dagster import (
    AssetSelection,
    Backoff,
    Definitions,
    RetryPolicy,
    define_asset_job,
    definitions,
    in_process_executor,
)
from dagster_dbt import build_dbt_asset_selection

from ingest import settings

from .assets import DLT_LOADS_SPEC, INBOXES, dbt_models, ingest_assets
from .manifest import prepared_manifest
from .resources import Warehouse, dbt_resource
from .schedules import attention_schedule
from .sensors import marketplace_inbox_sensor

# a lost connection or a busy server is retried; a failed dbt test is not (assets.py)
RETRY = RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL)
WAREHOUSE_TAG = "warehouse"

# dbt nodes each job builds (dbt's selection syntax), besides what its ingest lands
MARKETPLACE_MODELS = "source:marketplace+ +int_fx_rates_daily"
EVENT_MODELS = "source:web_shop+ +int_fx_rates_daily"
ATTENTION_MODELS = "source:web_shop+,+marts.attention"


def build_definitions(target: str) -> Definitions:
    rates, marketplace_files, web_shop_events = ingest_assets(target)
    models = dbt_models(target, prepared_manifest(target))

    def job(name: str, description: str, selection):
        return define_asset_job(
            name,
            selection=selection,
            description=description,
            executor_def=in_process_executor,
            op_retry_policy=RETRY,
            tags={WAREHOUSE_TAG: f"{target}-{settings.warehouse_identity(target)}"},
        )

    def dbt(select: str):
        return build_dbt_asset_selection([models], dbt_select=select)

    everything = job(
        "everything",
        "Every ingest, then every dbt model, seed, snapshot and test (as `warehouse run`).",
        AssetSelection.assets(rates, marketplace_files, web_shop_events, models),
    )
    marketplace = job(
        "marketplace_files",
        "New marketplace files (and ECB rates) into raw, then what depends on them.",
        AssetSelection.assets(rates, marketplace_files) | dbt(MARKETPLACE_MODELS),
    )
    events = job(
        "web_shop_events",
        "New web-shop event files (and ECB rates) into raw, then what depends on them.",
        AssetSelection.assets(rates, web_shop_events) | dbt(EVENT_MODELS),
    )
    attention = job(
        "attention_refresh",
        "New web-shop events into raw, then the attention marts (every 4 hours).",
        AssetSelection.assets(web_shop_events) | dbt(ATTENTION_MODELS),
    )
    return Definitions(
        assets=[*INBOXES, DLT_LOADS_SPEC, rates, marketplace_files, web_shop_events, models],
        jobs=[everything, marketplace, events, attention],
        schedules=[attention_schedule(attention)],
        sensors=[marketplace_inbox_sensor(marketplace)],
        resources={"warehouse": Warehouse(target=target), "dbt": dbt_resource(target)},
    )


@definitions
def defs() -> Definitions:
    """Loaded by Dagster when it loads this module's code (not at import)."""
    return build_definitions(os.environ.get("WAREHOUSE_TARGET", "duckdb"))
