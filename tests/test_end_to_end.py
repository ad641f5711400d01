"""Sample deliveries -> dlt -> raw -> dbt build -> marts, reconciled with tests/reference.py.

Two ingest runs, as in production: the originals, then corrected re-deliveries
(one under the same file name). The marts must match what the independent
pandas model of the contract computes from the same files.
"""

from decimal import Decimal

import pytest
from conftest import query
from reference import Expected

from ingest.pipeline import ingest_marketplace_files
from orchestration.dbt_build import dbt_build
from samples.marketplace_files import write_redeliveries, write_sample_inbox


@pytest.fixture
def built_warehouse(warehouse, tmp_path):
    """Ingest batch 1, ingest batch 2, dbt build; returns the target and the expectation."""
    inbox = tmp_path / "inbox"
    expected = Expected()
    write_sample_inbox(inbox)
    expected.add_batch(inbox)
    first = ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    write_redeliveries(inbox)
    expected.add_batch(inbox)
    second = ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    build = dbt_build(warehouse, quiet=True)
    assert build.success, build.lines()
    return warehouse, expected, (first, second)


def test_marts_reconcile_with_an_independent_model_of_the_contract(built_warehouse):
    target, expected, (first, second) = built_warehouse
    sku_sales = expected.sku_sales()

    rejected_files = {name for name, _ in first.rejected + second.rejected}
    assert rejected_files == expected.rejected_files
    assert first.files_skipped + second.files_skipped >= 1  # the byte-identical copy

    rows = query(
        target,
        "select marketplace_code, country_code, report_date, seller_id, sku_id, "
        "units_sold, gmv, currency_code, gmv_usd from marts.sku_sales",
    )
    assert len(rows) == len(sku_sales)
    actual = {row[:5]: row[5:] for row in rows}
    for record in sku_sales.itertuples(index=False):
        key = (
            record.marketplace_code,
            record.country_code,
            record.report_date,
            record.seller_id,
            record.sku_id,
        )
        units, gmv, currency, gmv_usd = actual[key]
        assert (units, Decimal(gmv), currency) == (
            record.units_sold,
            record.gmv,
            record.currency_code,
        ), key
        assert float(gmv_usd) == pytest.approx(record.gmv_usd, abs=0.01), key

    gmv_per_seller = query(
        target,
        "select marketplace_code, seller_id, sum(gmv) from marts.sku_sales group by 1, 2",
    )
    expected_gmv = sku_sales.groupby(["marketplace_code", "seller_id"])["gmv"].sum().to_dict()
    assert {(m, s): Decimal(g) for m, s, g in gmv_per_seller} == expected_gmv

    units_per_sku = query(
        target,
        "select marketplace_code, sku_id, sum(units_sold) from marts.sku_sales group by 1, 2",
    )
    expected_units = sku_sales.groupby(["marketplace_code", "sku_id"])["units_sold"].sum()
    assert {(m, s): int(u) for m, s, u in units_per_sku} == expected_units.to_dict()


def test_rejected_rows_are_kept_with_file_and_row(built_warehouse):
    target, expected, _ = built_warehouse
    rows = query(
        target,
        "select file_name, source_row_number, rejection_reason "
        "from marts.marketplace_rejected_rows",
    )
    assert {(name, number) for name, number, _ in rows} == expected.rejected_rows
    assert all(reason for _, _, reason in rows)
    assert len(expected.rejected_rows) >= 10  # the sample data has each kind of bad row


def test_dimensions_carry_the_latest_delivered_attributes(built_warehouse):
    target, expected, _ = built_warehouse
    skus = query(target, "select marketplace_code, sku_id, sku_name, unit_price from marts.sku")
    latest_name = expected.latest_attribute(["marketplace_code", "sku_id"], "sku_name")
    latest_price = expected.latest_attribute(["marketplace_code", "sku_id"], "unit_price")
    assert {(m, s): n for m, s, n, _ in skus} == {
        key: latest_name.get(key) for key in {(m, s) for m, s, _, _ in skus}
    }
    assert {(m, s): p for m, s, _, p in skus if p is not None} == {
        key: Decimal(value).quantize(Decimal("0.0001")) for key, value in latest_price.items()
    }
    sellers = query(target, "select marketplace_code, seller_id, seller_name from marts.seller")
    latest_seller = expected.latest_attribute(["marketplace_code", "seller_id"], "seller_name")
    assert {(m, s): n for m, s, n in sellers if n is not None} == latest_seller
    accepted_keys = {(r["marketplace_code"], r["sku_id"]) for r in expected.accepted}
    assert {(m, s) for m, s, _, _ in skus} == accepted_keys
