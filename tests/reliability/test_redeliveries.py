"""What a delivery is: its bytes for one marketplace and country. The same bytes
under a name for another country are a delivery of their own; under another
name for the same country they are a repeat. A file corrected in place with its
size and modification time kept is found with --rehash."""

from __future__ import annotations

import os

import pytest
from conftest import query
from fault_harness import MARKETPLACE_SIDE

from ingest.pipeline import ingest_marketplace_files
from orchestration.dbt_build import dbt_build

pytestmark = pytest.mark.reliability

HEADER = "report_date,seller_id,sku_id,units_sold,gmv"
BYTES = f"{HEADER}\n2026-11-01,S1,K1,3,30\n2026-11-01,S1,K2,abc,1\n"


def _units_by_country(target: str) -> dict[str, int]:
    rows = query(
        target, "select country_code, sum(units_sold) from marts.sku_sales group by country_code"
    )
    return {country: int(units) for country, units in rows}


def test_the_same_bytes_for_two_countries_are_two_deliveries(warehouse, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "GDN_SG_day.csv").write_text(BYTES)
    (inbox / "GDN_MY_day.csv").write_text(BYTES)  # another country: its own delivery
    (inbox / "GDN_SG_day_copy.csv").write_text(BYTES)  # the same country: a repeat

    report = ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    assert (report.files_loaded, report.files_skipped) == (2, 1)
    assert dbt_build(warehouse, list(MARKETPLACE_SIDE), quiet=True).success

    assert _units_by_country(warehouse) == {"SG": 3, "MY": 3}
    rejected = query(
        warehouse, "select file_name from marts.marketplace_rejected_rows order by file_name"
    )
    assert rejected == [("GDN_MY_day.csv",), ("GDN_SG_day.csv",)]


def test_rehash_finds_a_file_corrected_in_place_with_its_mtime_kept(duckdb_warehouse, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    delivery = inbox / "GDN_SG_day.csv"
    delivery.write_text(f"{HEADER}\n2026-11-01,S1,K1,3,30\n")
    ingest_marketplace_files(str(inbox), "duckdb", quiet=True)
    kept = delivery.stat()
    delivery.write_text(f"{HEADER}\n2026-11-01,S1,K1,7,70\n")  # the same size
    os.utime(delivery, ns=(kept.st_atime_ns, kept.st_mtime_ns))

    unseen = ingest_marketplace_files(str(inbox), "duckdb", quiet=True)
    assert unseen.files_loaded == 0  # (url, size, mtime) unchanged: not read again

    rehashed = ingest_marketplace_files(str(inbox), "duckdb", quiet=True, rehash=True)
    assert rehashed.files_loaded == 1
    assert dbt_build("duckdb", list(MARKETPLACE_SIDE), quiet=True).success
    assert query("duckdb", "select units_sold from marts.sku_sales") == [(7,)]

    again = ingest_marketplace_files(str(inbox), "duckdb", quiet=True, rehash=True)
    assert (again.files_loaded, again.files_skipped) == (0, 1)
    manifest = query("duckdb", "select count(*) from raw.marketplace_files")
    assert manifest == [(2,)]  # an unchanged file is not listed again, rehashed or not


def test_blanks_around_a_key_are_the_same_on_every_engine(warehouse, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = [
        "2026-11-01,S1,K1 ,1,10",
        "2026-11-01,S1,\u00a0K1\u00a0,2,20",
        "2026-11-01,\tS1,K1\t,3,30",
    ]
    (inbox / "GDN_SG_day.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    assert dbt_build(warehouse, list(MARKETPLACE_SIDE), quiet=True).success
    assert query(warehouse, "select seller_id, sku_id, units_sold from marts.sku_sales") == [
        ("S1", "K1", 6)
    ]
