"""The semantic layer (MetricFlow) over a built DuckDB warehouse, reconciled.

One warehouse for every test: the sample marketplace deliveries and a few days
of web-shop events, ingested and built once. `mf validate-configs` must pass
against its data, and what `mf query` answers must equal both SQL on the marts
and the independent pandas models (tests/reference.py, events_reference.py,
attention_reference.py) of the same files.

`mf` reads the dbt project and `target/semantic_manifest.json` from the folder
it runs in (DBT_PROJECT_DIR / DBT_PROFILES_DIR); the tests run it in a copy of
dbt_project holding the build's semantic manifest, so they never touch
dbt_project/target, which other builds share.
"""

from __future__ import annotations

import csv
import math
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from attention_reference import attention_events
from conftest import duckdb_env, query
from events_reference import EventsExpected
from reference import Expected

from ingest.pipeline import ingest_event_files, ingest_marketplace_files
from orchestration.dbt_build import target_path
from samples.events import EventConfig, write_events
from samples.marketplace_files import write_sample_inbox

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
MF = Path(sys.executable).with_name("mf")
EVENTS = EventConfig(customers=400, days=4)  # a day past the marketplace samples
BUILD = """
from orchestration.dbt_build import dbt_build
build = dbt_build("duckdb", quiet=True)
print("\\n".join(build.lines()))
raise SystemExit(0 if build.success else 1)
"""
# the marts round USD to 4 places where the pandas model does not: sums agree to the cent
USD = {"gmv_usd": 0.01}
COUNTS = ("carts_created", "carts_converted", "orders_placed", "orders_paid")


@dataclass
class Layer:
    project: Path  # a copy of dbt_project with the build's semantic manifest
    marketplace: Expected
    events: EventsExpected


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("semantic_layer")
    inbox, events = folder / "inbox", folder / "events"
    marketplace, shop = Expected(), EventsExpected()
    with duckdb_env(folder):
        write_sample_inbox(inbox)
        marketplace.add_batch(inbox)
        ingest_marketplace_files(str(inbox), "duckdb", quiet=True)
        write_events(EVENTS, events, progress=False)
        shop.add_batch(events)
        ingest_event_files(str(events), "duckdb", quiet=True)
        # in a process of its own: dbt-duckdb keeps its connection (and the file's
        # lock) open in the process that built, and mf must open the file
        build = subprocess.run(
            [sys.executable, "-c", BUILD], capture_output=True, text=True, timeout=900
        )
        assert build.returncode == 0, build.stdout + build.stderr

        project = folder / "dbt_project"
        shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
        (project / "target").mkdir()
        shutil.copy(target_path("duckdb") / "semantic_manifest.json", project / "target")
        yield Layer(project, marketplace, shop)


# --------------------------------------------------------------------------- mf


def mf(layer: Layer, *args: str) -> subprocess.CompletedProcess:
    environment = os.environ | {
        "DBT_PROJECT_DIR": str(layer.project),
        "DBT_PROFILES_DIR": str(layer.project),
    }
    return subprocess.run(
        [str(MF), *args],
        cwd=layer.project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def mf_query(layer: Layer, *args: str) -> list[dict[str, str]]:
    """`mf query ARGS` as rows of text (an empty cell is a null)."""
    out = layer.project / "query.csv"
    out.unlink(missing_ok=True)
    result = mf(layer, "query", *args, "--csv", str(out), "--quiet")
    assert result.returncode == 0 and out.exists(), result.stdout + result.stderr
    with out.open(newline="") as file:
        return list(csv.DictReader(file))


def metrics_query(layer: Layer, metrics: list[str], group_by: list[str]) -> list[dict[str, str]]:
    return mf_query(layer, "--metrics", ",".join(metrics), "--group-by", ",".join(group_by))


def number(text: str | None) -> float | None:
    return None if text in (None, "") else float(text)


def close(actual: float | None, expected, abs_tol: float = 1e-4) -> bool:
    """Equal up to the float mf prints (or both unknown); `abs_tol` for USD."""
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return actual is None
    return actual is not None and math.isclose(
        actual, float(expected), rel_tol=1e-12, abs_tol=abs_tol
    )


def assert_same(actual: dict, expected: dict, abs_tol: dict[str, float] | None = None) -> None:
    """{key: {column: value}} from mf against the expectation, every key and column."""
    abs_tol = abs_tol or {}
    assert len(expected) > 0
    missing, extra = set(expected) - set(actual), set(actual) - set(expected)
    assert not missing and not extra, (sorted(missing)[:3], sorted(extra)[:3])
    differ = [
        (key, column, actual[key][column], value)
        for key, columns in expected.items()
        for column, value in columns.items()
        if not close(actual[key][column], value, abs_tol.get(column, 1e-4))
    ]
    assert not differ, f"{len(differ)} values differ, e.g. {differ[:5]}"


def day(text: str) -> str:
    return text[:10]  # mf prints a day as 'YYYY-MM-DD 00:00:00'


# --------------------------------------------------------------------------- tests


def test_validate_configs_passes_against_the_warehouse(layer):
    result = mf(layer, "validate-configs")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # the data-warehouse checks ran (each semantic model, dimension, measure, metric
    # queried), not only the semantic ones
    assert "validated metrics against data warehouse" in output
    assert "ERRORS: 0" in output
    assert not re.search(r"(ERRORS|WARNINGS): [1-9]", output), output  # no warnings either


MARKETPLACE_METRICS = ["gmv", "gmv_usd", "units_sold", "canceled_units", "canceled_sku_days"]


def _marketplace_key(row: dict[str, str], time: str) -> tuple[str, str, str]:
    return day(row[time]), row["sku_sale__marketplace_code"], row["sku_sale__country_code"]


def _marketplace_reference(layer: Layer, period) -> dict:
    """The pandas model's figures per (period, marketplace, country)."""
    sales = layer.marketplace.sku_sales()
    sales = sales.assign(
        period=[period(d) for d in sales["report_date"]],
        canceled_units=[-u if u <= 0 else 0 for u in sales["units_sold"]],
        canceled_sku_days=[1 if u <= 0 else 0 for u in sales["units_sold"]],
    )
    grouped = sales.groupby(["period", "marketplace_code", "country_code"])
    return {
        key: {
            "gmv": sum(rows["gmv"], Decimal(0)),
            # rows without a rate are left out; none with a rate is unknown
            "gmv_usd": rows["gmv_usd"].sum(min_count=1),
            "units_sold": int(rows["units_sold"].sum()),
            "canceled_units": int(rows["canceled_units"].sum()),
            "canceled_sku_days": int(rows["canceled_sku_days"].sum()),
        }
        for key, rows in grouped
    }


def test_gmv_units_and_cancellations_per_day_marketplace_and_country(layer):
    rows = metrics_query(
        layer,
        MARKETPLACE_METRICS + ["orders"],
        ["metric_time__day", "sku_sale__marketplace_code", "sku_sale__country_code"],
    )
    actual = {
        _marketplace_key(r, "metric_time__day"): {
            m: number(r[m]) for m in MARKETPLACE_METRICS + ["orders"]
        }
        for r in rows
    }
    # the marts, with the cancellation rule written again (units_sold <= 0)
    in_marts = query(
        "duckdb",
        "select cast(report_date as varchar), marketplace_code, country_code, sum(gmv),"
        " sum(gmv_usd), sum(units_sold), sum(case when units_sold <= 0 then -units_sold"
        " else 0 end), sum(case when units_sold <= 0 then 1 else 0 end), sum(orders)"
        " from marts.sku_sales group by all",
    )
    columns = MARKETPLACE_METRICS + ["orders"]
    assert_same(actual, {row[:3]: dict(zip(columns, row[3:], strict=True)) for row in in_marts})

    reference = _marketplace_reference(layer, lambda d: d.isoformat())
    canceled = sum(v["canceled_sku_days"] for v in reference.values())
    assert canceled > 0  # the samples have canceled SKU-days, so the rule is exercised
    without_orders = {key: {m: v[m] for m in MARKETPLACE_METRICS} for key, v in actual.items()}
    assert_same(without_orders, reference, USD)


def test_saved_query_monthly_gmv_per_marketplace_and_country(layer):
    rows = mf_query(layer, "--saved-query", "monthly_gmv_per_marketplace_and_country")
    actual = {
        _marketplace_key(r, "metric_time__month"): {m: number(r[m]) for m in MARKETPLACE_METRICS}
        for r in rows
    }
    assert len(actual) == len(rows)  # one currency per marketplace and country here
    reference = _marketplace_reference(layer, lambda d: d.replace(day=1).isoformat())
    assert_same(actual, reference, USD)
    keys = [(r["metric_time__month"], r["sku_sale__marketplace_code"]) for r in rows]
    assert keys == sorted(keys)  # ordered as the saved query says


@pytest.mark.parametrize(
    ("entity", "name", "mart"), [("seller", "seller_name", "seller"), ("sku", "sku_name", "sku")]
)
def test_gmv_per_seller_and_sku_with_catalogue_names(layer, entity, name, mart):
    rows = metrics_query(layer, ["gmv_usd", "units_sold", "orders"], [entity, f"{entity}__{name}"])
    actual = {
        tuple(r[entity].split("|", 1)): {
            "name": r[f"{entity}__{name}"] or None,
            "gmv_usd": number(r["gmv_usd"]),
            "units_sold": number(r["units_sold"]),
        }
        for r in rows
    }
    assert len(actual) == len(rows)

    in_marts = query(
        "duckdb",
        f"select s.marketplace_code, s.{entity}_id, c.{name}, sum(s.gmv_usd),"  # noqa: S608
        f" sum(s.units_sold), sum(s.orders) from marts.sku_sales as s"
        f" left join marts.{mart} as c on s.marketplace_code = c.marketplace_code"
        f" and s.{entity}_id = c.{entity}_id group by all",
    )
    assert {key: r["name"] for key, r in actual.items()} == {r[:2]: r[2] for r in in_marts}
    orders = {tuple(r[entity].split("|", 1)): number(r["orders"]) for r in rows}
    assert all(close(orders[r[:2]], r[5]) for r in in_marts)

    # the pandas model: figures per key, and the latest delivered name
    sales = layer.marketplace.sku_sales()
    grouped = sales.groupby(["marketplace_code", f"{entity}_id"])
    names = layer.marketplace.latest_attribute(["marketplace_code", f"{entity}_id"], name)
    reference = {
        key: {
            "name": names.get(key),
            "gmv_usd": group["gmv_usd"].sum(min_count=1),
            "units_sold": int(group["units_sold"].sum()),
        }
        for key, group in grouped
    }
    assert {k: v["name"] for k, v in actual.items()} == {k: v["name"] for k, v in reference.items()}
    figures = {k: {c: v[c] for c in ("gmv_usd", "units_sold")} for k, v in actual.items()}
    expected = {k: {c: v[c] for c in ("gmv_usd", "units_sold")} for k, v in reference.items()}
    assert_same(figures, expected, USD)

    # the report's saved query: the ten with most USD, nulls (no rate) never ranked
    top = mf_query(layer, "--saved-query", f"top_{entity}s_by_gmv")
    ranked = sorted(
        (r for r in rows if r["gmv_usd"] != ""), key=lambda r: (-float(r["gmv_usd"]), r[entity])
    )
    assert [r[entity] for r in top] == [r[entity] for r in ranked[:10]]
    assert len(top) == min(10, len(ranked)) > 0


def _funnel_in_marts(by_country: bool) -> dict:
    """shop_daily_metrics added up per day (and country): counts, then the rates."""
    country = "country_code" if by_country else "'all'"
    in_marts = query(
        "duckdb",
        f"select cast(metric_date as varchar), {country}, sum(carts_created),"  # noqa: S608
        " sum(carts_converted), sum(orders_placed), sum(orders_paid)"
        " from marts.shop_daily_metrics group by all",
    )
    return {row[:2]: dict(zip(COUNTS, row[2:], strict=True)) for row in in_marts}


def _funnel_reference(layer: Layer, by_country: bool) -> dict:
    metrics = layer.events.daily_metrics()
    if not by_country:
        metrics = metrics.assign(country_code="all")
    grouped = metrics.groupby(["metric_date", "country_code"])[list(COUNTS)].sum()
    return {
        (metric_date.isoformat(), country): {c: int(row[c]) for c in COUNTS}
        for (metric_date, country), row in grouped.iterrows()
    }


def _with_rates(counts: dict) -> dict:
    def ratio(part, whole):
        return part / whole if whole else None

    return {
        key: values
        | {
            "cart_conversion_rate": ratio(values["carts_converted"], values["carts_created"]),
            "payment_completion_rate": ratio(values["orders_paid"], values["orders_placed"]),
        }
        for key, values in counts.items()
    }


def test_saved_query_daily_funnel_reconciles_with_shop_daily_metrics(layer):
    rows = mf_query(layer, "--saved-query", "daily_shop_funnel")
    actual = {
        (day(r["metric_time__day"]), "all"): {
            # a day with carts but no orders (or the other way round) has no row in
            # the other semantic model: mf leaves its counts empty
            **{c: number(r[c]) or 0.0 for c in COUNTS},
            "cart_conversion_rate": number(r["cart_conversion_rate"]),
            "payment_completion_rate": number(r["payment_completion_rate"]),
        }
        for r in rows
    }
    assert_same(actual, _with_rates(_funnel_in_marts(by_country=False)))
    assert_same(actual, _with_rates(_funnel_reference(layer, by_country=False)))
    assert sum(v["orders_paid"] for v in actual.values()) > 0
    assert any(0 < (v["payment_completion_rate"] or 0) < 1 for v in actual.values())


@pytest.mark.parametrize(
    ("entity", "metrics"),
    [
        ("cart", ["carts_created", "carts_converted", "cart_conversion_rate"]),
        ("order", ["orders_placed", "orders_paid", "payment_completion_rate"]),
    ],
)
def test_rates_per_day_and_country(layer, entity, metrics):
    rows = metrics_query(layer, metrics, ["metric_time__day", f"{entity}__country_code"])
    actual = {
        # shop_daily_metrics names a missing country 'unknown'
        (day(r["metric_time__day"]), r[f"{entity}__country_code"] or "unknown"): {
            m: number(r[m]) for m in metrics
        }
        for r in rows
    }
    counts = [m for m in metrics if m in COUNTS]
    for expected in (_funnel_in_marts(True), _funnel_reference(layer, True)):
        # only the days and countries where this semantic model has rows
        kept = {k: v for k, v in _with_rates(expected).items() if v[counts[0]] > 0}
        assert_same(actual, {k: {m: v[m] for m in metrics} for k, v in kept.items()})


def test_views_and_transaction_items_per_article(layer):
    metrics = ["details_views", "transaction_items", "views_per_transaction_item"]
    rows = metrics_query(layer, metrics, ["article", "article__article_name"])
    actual = {r["article"]: {m: number(r[m]) for m in metrics} for r in rows}
    assert len(actual) == len(rows)

    counted = attention_events(layer.events.events())
    per_article = counted.groupby("article_id")[["is_view", "is_line"]].sum()
    reference = {
        article: {
            "details_views": int(row["is_view"]),
            "transaction_items": int(row["is_line"]),
            "views_per_transaction_item": (
                row["is_view"] / row["is_line"] if row["is_line"] else None
            ),
        }
        for article, row in per_article.iterrows()
    }
    assert_same(actual, reference)
    assert any(v["transaction_items"] for v in reference.values())

    names = dict(query("duckdb", "select article_id, article_name from marts.dim_product"))
    assert {r["article"]: r["article__article_name"] or None for r in rows} == {
        article: names[article] for article in actual
    }


def test_the_time_spine_is_dim_date_and_fills_days_without_reports(layer):
    spine = {d for (d,) in query("duckdb", "select date_day from marts.metricflow_time_spine")}
    calendar = {d for (d,) in query("duckdb", "select date_day from marts.dim_date")}
    assert spine == calendar and len(spine) > 0
    for table, column in [("sku_sales", "report_date"), ("dim_cart", "created_date"),
                          ("fact_sales", "placed_date")]:  # fmt: skip
        statement = f"select distinct {column} from marts.{table} where {column} is not null"  # noqa: S608
        days = {d for (d,) in query("duckdb", statement)}
        assert days and days <= spine, table

    # a metric joined to the spine has every spine day, 0 where nothing was reported
    daily = dict(
        query("duckdb", "select report_date, sum(units_sold) from marts.sku_sales group by all")
    )
    assert spine - set(daily)  # the events run a day past the marketplace reports
    rows = metrics_query(layer, ["units_sold_every_day"], ["metric_time__day"])
    actual = {
        (day(r["metric_time__day"]),): {"units": number(r["units_sold_every_day"])} for r in rows
    }
    expected = {(d.isoformat(),): {"units": daily.get(d, 0)} for d in spine}
    assert_same(actual, expected)


def test_payment_attempts_items_added_and_usd_revenue_per_day(layer):
    """Three semantic models on one time axis (metric_time): mf joins them by day."""
    metrics = ["payment_attempts", "failed_payment_attempts", "cart_items_added"]
    rows = metrics_query(layer, metrics + ["shop_revenue_usd"], ["metric_time__day"])
    actual = {
        (day(r["metric_time__day"]),): {m: number(r[m]) or 0.0 for m in metrics}
        | {"shop_revenue_usd": number(r["shop_revenue_usd"])}
        for r in rows
    }
    in_marts = defaultdict(lambda: dict.fromkeys(metrics, 0))
    statements = {
        "payment_attempts": "select attempt_date, count(*) from marts.fact_payments group by all",
        "failed_payment_attempts": "select attempt_date, count(*) from marts.fact_payments"
        " where payment_status = 'failed' group by all",
        "cart_items_added": "select created_date, sum(items_added) from marts.dim_cart"
        " group by all",
        # a day whose revenue_usd is null (a paid order without a rate) is left out
        "shop_revenue_usd": "select metric_date, sum(revenue_usd) from marts.shop_daily_metrics"
        " group by all",
    }
    for metric, statement in statements.items():
        for moment, value in query("duckdb", statement):
            in_marts[(moment.isoformat(),)][metric] = value
    for values in in_marts.values():
        values.setdefault("shop_revenue_usd", None)
    assert_same(actual, dict(in_marts), {"shop_revenue_usd": 0.01})

    events = layer.events
    payments = events.payments().assign(day=lambda p: p["attempted_at"].dt.date)
    carts = events.carts().assign(day=lambda c: c["created_at"].dt.date)
    daily = events.daily_metrics()
    reference = defaultdict(lambda: dict.fromkeys(metrics, 0) | {"shop_revenue_usd": None})
    for moment, group in payments.groupby("day"):
        reference[(moment.isoformat(),)]["payment_attempts"] = len(group)
        failed = int((group["payment_status"] == "failed").sum())
        reference[(moment.isoformat(),)]["failed_payment_attempts"] = failed
    for moment, group in carts.groupby("day"):
        reference[(moment.isoformat(),)]["cart_items_added"] = int(group["items_added"].sum())
    for moment, group in daily.groupby("metric_date"):
        usd = pd.to_numeric(group["revenue_usd"]).sum(min_count=1)
        reference[(moment.isoformat(),)]["shop_revenue_usd"] = usd
    assert_same(actual, dict(reference), {"shop_revenue_usd": 0.01})
    assert sum(v["failed_payment_attempts"] for v in actual.values()) > 0
