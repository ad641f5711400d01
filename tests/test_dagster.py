"""The Dagster definitions (orchestration/definitions.py): the asset graph connects
inbox -> raw -> every dbt node, the jobs build what `warehouse run` builds, the
sensor starts a run for new bytes only, and two runs of one warehouse never overlap."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import WAREHOUSES, comparable_rows, duckdb_env, execute, query
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    build_sensor_context,
    define_asset_job,
)

from ingest import settings
from orchestration.assets import DATA_TESTS_TAG
from orchestration.checks import CHECK_NAME as FRESHNESS_CHECK
from orchestration.cli import main as cli_main
from orchestration.dbt_build import source_freshness, target_path
from orchestration.definitions import WAREHOUSE_TAG, build_definitions
from orchestration.schedules import ATTENTION_CRON
from orchestration.sensors import new_deliveries
from samples.events import EventConfig, write_events
from samples.marketplace_files import write_sample_inbox

HEADER = "report_date,seller_id,sku_id,units_sold,gmv"
RAW_PARENTS = {
    "stg_marketplace__sales_rows": "marketplace_sales_rows",
    "stg_marketplace__files": "marketplace_files",
    "stg_web_shop__events": "shop_events",
    "stg_web_shop__event_files": "shop_event_files",
    "stg_ecb__euro_reference_rates": "ecb_euro_reference_rates",
    "stg_dlt__loads": "_dlt_loads",
}
COMPARED_MARTS = (
    "marts.sku_sales",
    "marts.fact_sales",
    "marts.shop_daily_metrics",
    "marts.attention_article_minute",
    "marts.marketplace_rejected_rows",
)

# the dlt load that landed a row: another load id in another warehouse, by design
LOAD_COLUMNS = ("_dlt_load_id", "load_id", "last_load_id", "source_load_id")


@dataclass
class Loaded:
    defs: Definitions
    manifest: dict


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Loaded:
    with duckdb_env(tmp_path_factory.mktemp("definitions")):
        defs = build_definitions("duckdb")
        manifest = json.loads((target_path("duckdb") / "manifest.json").read_text())
        yield Loaded(defs, manifest)


def test_every_dbt_node_and_dlt_table_is_an_asset_and_raw_feeds_staging(loaded):
    graph = loaded.defs.resolve_asset_graph()
    keys = {key.path[-1] for key in graph.get_all_asset_keys()}
    nodes = [
        node["name"]
        for node in loaded.manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot")
    ]
    assert len(nodes) > 40
    assert set(nodes) <= keys
    dlt_tables = {"ecb_rate_files", *RAW_PARENTS.values()} - {"_dlt_loads"}
    for table in dlt_tables:  # each table a dlt resource writes, fed by its inbox
        parents = graph.get(AssetKey(["raw", table])).parent_keys
        assert [key.path[0] for key in parents] == ["inbox"], table
    for model, table in RAW_PARENTS.items():
        assert graph.get(AssetKey(["staging", model])).parent_keys == {AssetKey(["raw", table])}, (
            model
        )


def test_jobs_schedule_and_sensor(loaded):
    jobs = {job.name for job in loaded.defs.jobs}
    assert {"everything", "marketplace_files", "web_shop_events", "attention_refresh"} <= jobs
    attention = loaded.defs.resolve_job_def("attention_refresh")
    selected = {key.path[-1] for key in attention.asset_layer.selected_asset_keys}
    assert {"shop_events", "attention_counter", "attention_trailing_4h"} <= selected
    assert not selected & {"marketplace_sales_rows", "sku_sales"}  # events only
    marketplace = loaded.defs.resolve_job_def("marketplace_files")
    selected = {key.path[-1] for key in marketplace.asset_layer.selected_asset_keys}
    assert {"marketplace_sales_rows", "ecb_euro_reference_rates", "sku_sales"} <= selected
    assert "shop_events" not in selected
    assert all(WAREHOUSE_TAG in job.tags for job in loaded.defs.jobs)  # the run queue's key

    schedules = {schedule.name: schedule for schedule in loaded.defs.schedules}
    schedule = schedules["attention_every_4_hours"]
    assert (schedule.cron_schedule, schedule.execution_timezone) == (ATTENTION_CRON, "UTC")
    assert ATTENTION_CRON == "0 */4 * * *"
    assert schedule.job_name == "attention_refresh"
    # frequent runs test the rows of new loads; the nightly one tests every row
    assert schedule.tags[DATA_TESTS_TAG] == "new_loads"
    nightly = schedules["everything_nightly"]
    assert (nightly.job_name, nightly.tags[DATA_TESTS_TAG]) == ("everything", "all")
    (sensor,) = loaded.defs.sensors
    assert sensor.job_name == "marketplace_files"


def test_the_sensor_requests_a_run_for_new_bytes_only(loaded, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first = inbox / "GDN_SG_day.csv"
    first.write_text(f"{HEADER}\n2026-11-01,S1,K1,3,30\n")

    result = new_deliveries(str(inbox), None)
    (request,) = result.run_requests
    again = new_deliveries(str(inbox), result.cursor)
    assert not again.run_requests  # the same bytes: no second run

    os.utime(first, (1_800_000_000, 1_800_000_000))  # touched: same bytes, new mtime
    shutil.copy(first, inbox / "GDN_SG_day_copy.csv")  # a repeat for the same country
    touched = new_deliveries(str(inbox), again.cursor)
    assert not touched.run_requests

    shutil.copy(first, inbox / "GDN_MY_day.csv")  # the same bytes for another country
    other_country = new_deliveries(str(inbox), touched.cursor)
    (second,) = other_country.run_requests
    first.write_text(f"{HEADER}\n2026-11-01,S1,K1,7,70\n")  # corrected in place
    corrected = new_deliveries(str(inbox), other_country.cursor)
    (third,) = corrected.run_requests
    assert len({request.run_key, second.run_key, third.run_key}) == 3

    # the sensor as Dagster evaluates it: it reads the configured inbox
    monkeypatch.setenv("WAREHOUSE_INBOX", str(inbox))
    (sensor,) = loaded.defs.sensors
    fresh = sensor(build_sensor_context())
    assert len(fresh.run_requests) == 1
    assert fresh.run_requests[0].tags[DATA_TESTS_TAG] == "new_loads"
    assert not sensor(build_sensor_context(cursor=fresh.cursor)).run_requests


def _inputs(folder: Path) -> tuple[Path, Path]:
    """The sample marketplace inbox (bad files included) and two days of events."""
    inbox, events = folder / "inbox", folder / "events"
    write_sample_inbox(inbox)
    write_events(EventConfig(customers=150, days=2), events, progress=False)
    return inbox, events


@pytest.mark.parametrize("target", list(WAREHOUSES))
def test_the_everything_job_builds_the_marts_of_warehouse_run(target, tmp_path, monkeypatch):
    dagster_inputs = _inputs(tmp_path / "dagster")
    cli_inputs = _inputs(tmp_path / "cli")

    with WAREHOUSES[target](tmp_path / "dagster"):
        monkeypatch.setenv("WAREHOUSE_INBOX", str(dagster_inputs[0]))
        monkeypatch.setenv("WAREHOUSE_EVENTS", str(dagster_inputs[1]))
        defs = build_definitions(target)
        result = defs.resolve_job_def("everything").execute_in_process(
            instance=DagsterInstance.ephemeral(), raise_on_error=False
        )
        assert result.success, [str(event.message) for event in result.get_step_failure_events()]
        checks = result.get_asset_check_evaluations()
        failed = [
            check.check_name
            for check in checks
            if not check.passed
            and check.severity == AssetCheckSeverity.ERROR
            and check.check_name != FRESHNESS_CHECK
        ]
        assert len(checks) > 100 and not failed, failed  # dbt tests, as asset checks
        fresh_by_dagster = {
            check.asset_key.path[-1]: check.passed
            for check in checks
            if check.check_name == FRESHNESS_CHECK
        }
        by_dagster = {mart: _rows(target, mart) for mart in COMPARED_MARTS}

    (tmp_path / "cli").mkdir(exist_ok=True)
    with WAREHOUSES[target](tmp_path / "cli"):
        inbox, events = cli_inputs
        argv = ["run", "--target", target, "--inbox", str(inbox), "--events", str(events)]
        assert cli_main([*argv, "--quiet"]) == 3  # the sample inbox holds bad files
        by_cli = {mart: _rows(target, mart) for mart in COMPARED_MARTS}
        fresh_by_cli = {
            found.source.split(".")[1]: not found.stale
            for found in source_freshness(target).sources
        }

    # every raw table the ingest writes has its freshness checked, with dbt's verdict
    assert set(fresh_by_dagster) == set(RAW_PARENTS.values()) - {"_dlt_loads"} | {"ecb_rate_files"}
    assert fresh_by_dagster == {table: fresh_by_cli[table] for table in fresh_by_dagster}

    for mart in COMPARED_MARTS:
        assert by_dagster[mart], mart
        assert by_dagster[mart] == by_cli[mart], mart


def test_a_failed_dbt_test_fails_the_run_and_names_the_test(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "GDN_SG_day.csv").write_text(f"{HEADER}\n2026-10-01,S1,K1,3,30\n")
    monkeypatch.setenv("WAREHOUSE_INBOX", str(inbox))
    with duckdb_env(tmp_path):
        job = build_definitions("duckdb").resolve_job_def("marketplace_files")
        assert job.execute_in_process(instance=DagsterInstance.ephemeral()).success
        published = settings.published_duckdb_path()
        good = published.read_bytes()  # the green run published the tested marts
        # an incremental mart broken behind dbt's back: its grain test must catch it
        execute("duckdb", "insert into marts.sku_sales select * from marts.sku_sales")
        result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
        assert published.read_bytes() == good  # BI keeps the last tested marts

    assert not result.success
    (failure,) = result.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("dbt build failed: test unique_combination_of_columns_sku_sales")
    assert "1 row(s) break it" in description
    retried = [
        event
        for event in result.all_events
        if event.event_type == DagsterEventType.STEP_UP_FOR_RETRY
    ]
    assert not retried  # a failed test is not retried
    failed_checks = [
        check.check_name for check in result.get_asset_check_evaluations() if not check.passed
    ]
    assert any(name.startswith("unique_combination_of_columns_sku_sales") for name in failed_checks)


@pytest.mark.parametrize("job_name", ["web_shop_events", "attention_refresh"])
def test_a_job_that_builds_part_of_the_project_runs_on_a_new_warehouse(
    job_name, tmp_path, monkeypatch
):
    events = tmp_path / "events"
    write_events(EventConfig(customers=50, days=1), events, progress=False)
    monkeypatch.setenv("WAREHOUSE_EVENTS", str(events))
    monkeypatch.setenv("WAREHOUSE_INBOX", str(tmp_path / "no_files_yet"))
    (tmp_path / "no_files_yet").mkdir()
    with duckdb_env(tmp_path):
        job = build_definitions("duckdb").resolve_job_def(job_name)
        result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
        assert result.success, [str(event.message) for event in result.get_step_failure_events()]
        (minutes,) = query("duckdb", "select count(*) from marts.attention_article_minute")[0]
    assert minutes > 0


def _rows(target: str, mart: str) -> list[tuple]:
    """A mart's rows without what differs between two loads of the same bytes."""
    return sorted(comparable_rows(target, mart, "1", leave_out=LOAD_COLUMNS), key=repr)


def test_two_runs_of_one_warehouse_run_one_after_the_other(loaded, tmp_path):
    """Both runs take the warehouse's writer lock for their whole run: the second one's
    steps start only after the first one's have ended."""
    with duckdb_env(tmp_path):
        defs = build_definitions("duckdb")
        (rates, *_), resources = _rates_assets(defs)
        job = define_asset_job("rates_only", selection=[rates])
        small = Definitions(assets=[rates], jobs=[job], resources=resources)
        runs, errors = [], []

        def execute() -> None:
            try:
                instance = DagsterInstance.ephemeral()
                result = small.resolve_job_def("rates_only").execute_in_process(instance=instance)
                runs.append(_step_window(instance, result.run_id))
            except Exception as error:  # reported below, in the test's thread
                errors.append(error)

        threads = [threading.Thread(target=execute) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert not errors, errors
    (first_start, first_end), (second_start, second_end) = sorted(runs)
    assert first_end <= second_start


HOLD_THE_LOCK = """
import sys, time
from orchestration.lock import writer_lock
with writer_lock("duckdb", "run"):  # what `warehouse run` holds while it writes
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
    print(time.time(), flush=True)
"""


def test_a_dagster_run_waits_for_a_cli_run_holding_the_warehouse(tmp_path):
    """The writer lock of the CLI, held by another process: the Dagster run's steps
    start only once that process has let it go."""
    with duckdb_env(tmp_path):
        (rates, *_), resources = _rates_assets(build_definitions("duckdb"))
        job = define_asset_job("rates_only", selection=[rates])
        small = Definitions(assets=[rates], jobs=[job], resources=resources)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_THE_LOCK, "5"], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout.readline().strip() == "held"
        instance = DagsterInstance.ephemeral()
        result = small.resolve_job_def("rates_only").execute_in_process(instance=instance)
        released_at = float(holder.stdout.readline())
        holder.wait(timeout=30)
    assert result.success
    step_start, _ = _step_window(instance, result.run_id)
    assert step_start >= released_at


def _rates_assets(defs: Definitions):
    rates = [
        assets
        for assets in defs.assets
        if getattr(assets, "op", None) is not None and assets.op.name == "ingest_exchange_rates"
    ]
    return rates, {"warehouse": defs.resources["warehouse"]}


def _step_window(instance: DagsterInstance, run_id: str) -> tuple[float, float]:
    times = {
        entry.dagster_event.event_type: entry.timestamp
        for entry in instance.all_logs(run_id)
        if entry.dagster_event is not None
        and entry.dagster_event.event_type
        in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS)
    }
    return times[DagsterEventType.STEP_START], times[DagsterEventType.STEP_SUCCESS]
