"""Loads that complete out of order, and the same file landed by two ingests at
once (each with its own dlt folder, as two machines would have): the marts must
build every completed load exactly once and equal a clean full build."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from conftest import comparable_rows, query
from fault_harness import MARKETPLACE_SIDE

from ingest.files import IngestedFiles, list_inbox, prepare_deliveries
from ingest.marketplace import marketplace_source
from ingest.pipeline import (
    MARKETPLACE,
    ingest_marketplace_files,
    make_pipeline,
    normalize_inbox,
)
from orchestration.dbt_build import dbt_build

pytestmark = pytest.mark.reliability

HEADER = "report_date,seller_id,sku_id,units_sold,gmv"
SKU_SALES = "marts.sku_sales"
SKU_SALES_KEY = "marketplace_code, country_code, report_date, seller_id, sku_id"


def _write(inbox: Path, name: str, rows: list[str]) -> None:
    inbox.mkdir(exist_ok=True)
    (inbox / name).write_text("\n".join([HEADER, *rows]) + "\n")


def _extract_without_loading(inbox: Path, target: str):
    """An ingest that has extracted and normalised its package but not loaded it
    yet (a slow COPY): returns its pipeline, whose load() completes it later."""
    pipeline = make_pipeline(target)
    with tempfile.TemporaryDirectory() as workdir:
        staging = MARKETPLACE.staging_area(Path(workdir), target)
        deliveries = prepare_deliveries(
            list_inbox(normalize_inbox(str(inbox))), IngestedFiles(), staging, MARKETPLACE.convert
        )
        pipeline.extract(marketplace_source(deliveries, staging))
        pipeline.normalize()
    return pipeline


def _build(target: str, *args: str) -> None:
    """The marketplace side of the DAG: only marketplace files are delivered here."""
    build = dbt_build(target, [*MARKETPLACE_SIDE, *args], quiet=True)
    assert build.success, build.lines()


def _units_by_sku(target: str) -> dict[str, int]:
    rows = query(target, "select sku_id, sum(units_sold) from marts.sku_sales group by sku_id")
    return {sku: int(units) for sku, units in rows}


def _incremental_equals_full_refresh(target: str) -> None:
    incremental = comparable_rows(target, SKU_SALES, SKU_SALES_KEY)
    _build(target, "--full-refresh")
    assert comparable_rows(target, SKU_SALES, SKU_SALES_KEY) == incremental


def test_a_load_completing_after_a_later_one_reaches_the_marts(warehouse, tmp_path, monkeypatch):
    slow, fast = tmp_path / "slow_inbox", tmp_path / "fast_inbox"
    _write(slow, "GDN_SG_slow.csv", ["2026-11-01,S1,K1,3,30", "2026-11-01,S1,K2,4,40"])
    _write(fast, "SEV_TH_fast.csv", ["2026-11-01,S9,K9,5,50"])

    monkeypatch.setenv("WAREHOUSE_DLT_DIR", str(tmp_path / "dlt_slow"))
    slow_pipeline = _extract_without_loading(slow, warehouse)  # the earlier load id
    monkeypatch.setenv("WAREHOUSE_DLT_DIR", str(tmp_path / "dlt_fast"))
    ingest_marketplace_files(str(fast), warehouse, quiet=True)
    _build(warehouse)
    assert _units_by_sku(warehouse) == {"K9": 5}

    slow_pipeline.load()  # completes after the later load was built
    _build(warehouse)
    assert _units_by_sku(warehouse) == {"K1": 3, "K2": 4, "K9": 5}
    _incremental_equals_full_refresh(warehouse)


def test_the_same_file_landed_by_two_ingests_at_once_counts_once(warehouse, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    _write(inbox, "GDN_SG_twice.csv", ["2026-11-01,S1,K1,3,30", "2026-11-01,S1,K2,4,40"])

    monkeypatch.setenv("WAREHOUSE_DLT_DIR", str(tmp_path / "dlt_one"))
    first = _extract_without_loading(inbox, warehouse)
    monkeypatch.setenv("WAREHOUSE_DLT_DIR", str(tmp_path / "dlt_two"))
    ingest_marketplace_files(str(inbox), warehouse, quiet=True)  # sees no completed load
    _build(warehouse)
    first.load()  # the same bytes land a second time, under an earlier load id
    _build(warehouse)

    assert _units_by_sku(warehouse) == {"K1": 3, "K2": 4}
    staged = query(warehouse, "select count(*) from intermediate.int_sales_rows_landed")
    assert staged == [(2,)]
    listed = query(
        warehouse,
        "select status, count(*) from marts.marketplace_file_deliveries group by 1 order by 1",
    )
    assert listed == [("loaded", 1), ("skipped", 1)]  # one delivery, landed twice
    _incremental_equals_full_refresh(warehouse)


@pytest.mark.parametrize("order", ["older_first", "newer_first"])
def test_a_corrected_redelivery_wins_whichever_load_completes_first(
    order, duckdb_warehouse, tmp_path, monkeypatch
):
    """The delivery of the later ingest run wins, also when its load completes first."""
    original, corrected = tmp_path / "original", tmp_path / "corrected"
    _write(original, "GDN_SG_day.csv", ["2026-11-01,S1,K1,3,30"])
    _write(corrected, "GDN_SG_day.csv", ["2026-11-01,S1,K1,7,70"])

    monkeypatch.setenv("WAREHOUSE_DLT_DIR", str(tmp_path / "dlt_original"))
    original_pipeline = _extract_without_loading(original, "duckdb")
    monkeypatch.setenv("WAREHOUSE_DLT_DIR", str(tmp_path / "dlt_corrected"))
    if order == "older_first":
        original_pipeline.load()
        _build("duckdb")
    ingest_marketplace_files(str(corrected), "duckdb", quiet=True)
    _build("duckdb")
    if order == "newer_first":
        original_pipeline.load()
        _build("duckdb")
    assert _units_by_sku("duckdb") == {"K1": 7}
    _incremental_equals_full_refresh("duckdb")
