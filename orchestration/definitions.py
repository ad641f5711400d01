"""Dagster definitions of the warehouse (`make ui`): assets, jobs, schedule, sensor.

The target is `WAREHOUSE_TARGET` (duckdb by default, postgres or spark), read where the
code is loaded; the warehouse itself comes from the same variables as the CLI's.
Every job runs its steps in one process (DuckDB admits one writing process) and is
tagged with its warehouse, so the run queue (orchestration/dagster.yaml) runs one
job per warehouse at a time."""

from __future__ import annotations

import json
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
from .checks import raw_freshness_checks
from .manifest import prepared_manifest
from .resources import Warehouse, dbt_resource
from .schedules import attention_schedule, nightly_schedule
from .sensors import marketplace_inbox_sensor

# a lost connection or a busy server is retried; a failed dbt test is not (assets.py)
RETRY = RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL)
WAREHOUSE_TAG = "warehouse"

# dbt nodes each job builds (dbt's selection syntax), besides what its ingest lands:
# what depends on its sources and everything those read (`@`), so a job works on a
# warehouse where nothing was built yet (a model it reads may be missing there)
# Every seed too (five small tables): dbt picks a seed's relationship test to another
# seed as soon as that other one is built, so both must be there.
MARKETPLACE_MODELS = "@source:marketplace resource_type:seed"
EVENT_MODELS = "@source:web_shop resource_type:seed"
ATTENTION_MODELS = "+marts.attention"


def build_definitions(target: str) -> Definitions:
    rates, marketplace_files, web_shop_events = ingest_assets(target)
    manifest_path = prepared_manifest(target)
    models = dbt_models(target, manifest_path)
    manifest = json.loads(manifest_path.read_text())
    ingested = {
        key for assets in (rates, marketplace_files, web_shop_events) for key in assets.keys
    }
    freshness = raw_freshness_checks(manifest, ingested)
    assets = [*INBOXES, DLT_LOADS_SPEC, rates, marketplace_files, web_shop_events, models]
    resources = {"warehouse": Warehouse(target=target), "dbt": dbt_resource(target)}
    graph = Definitions(assets=assets, resources=resources).resolve_asset_graph()
    tests_parents = dbt_tests_parents(manifest)

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
        """Those dbt nodes and the tests whose every parent they hold: a relationship
        test to a model the job does not build could find it missing."""
        selection = build_dbt_asset_selection([models], dbt_select=select)
        built = {key.path[-1] for key in selection.resolve(graph)}
        outside = [
            check
            for check in models.check_keys
            if not tests_parents.get(check.name, set()) <= built
        ]
        return selection - AssetSelection.checks(*outside) if outside else selection

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
        assets=assets,
        asset_checks=[freshness],
        jobs=[everything, marketplace, events, attention],
        schedules=[attention_schedule(attention), nightly_schedule(everything)],
        sensors=[marketplace_inbox_sensor(marketplace)],
        resources=resources,
    )


def dbt_tests_parents(manifest: dict) -> dict[str, set[str]]:
    """The models, seeds and snapshots each dbt test reads, by test name."""
    names = {unique_id: node["name"] for unique_id, node in manifest["nodes"].items()}
    return {
        node["name"]: {names[parent] for parent in node["depends_on"]["nodes"] if parent in names}
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
    }


@definitions
def defs() -> Definitions:
    """Loaded by Dagster when it loads this module's code (not at import)."""
    return build_definitions(os.environ.get("WAREHOUSE_TARGET", "duckdb"))
