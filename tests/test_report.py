"""`warehouse report` and `warehouse demo`: the demo writes the HTML report and prints
its path; the page opens without a network in headless Chromium, every chart draws,
and what the charts show is what the marts hold (added up here with pandas)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from orchestration.cli import main as cli_main
from orchestration.read_marts import open_duckdb_read_only

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "data" / "test-artifacts"))
CHROMIUM = shutil.which("chromium")
CHARTS = (
    "gmv",
    "sellers",
    "skus",
    "cart-conversion",
    "payment-completion",
    "attention",
    "rejections",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`warehouse demo` once, into files of the test's own."""
    folder = tmp_path_factory.mktemp("report")
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREHOUSE_DEMO_DUCKDB", str(folder / "demo.duckdb"))
        patch.setenv("WAREHOUSE_REPORT", str(folder / "report.html"))
        patch.setenv("WAREHOUSE_DLT_DIR", str(folder / "dlt"))
        patch.setenv("WAREHOUSE_LOG_DIR", str(folder / "logs"))
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = cli_main(["demo", "--inbox", str(folder / "inbox")])
    assert code == 0, output.getvalue()
    return {"folder": folder, "output": output.getvalue(), "report": folder / "report.html"}


def _sku_sales(demo) -> pd.DataFrame:
    # this process built the file: DuckDB shares that instance (see open_duckdb_read_only)
    with contextlib.closing(open_duckdb_read_only(demo["folder"] / "demo.duckdb")) as connection:
        return connection.sql("select * from marts.sku_sales").df()


def test_the_demo_writes_the_report_and_prints_its_path(demo):
    assert f"open the report {demo['report']}" in demo["output"]
    page = demo["report"].read_text(encoding="utf-8")
    # self-contained: no script, style sheet or image fetched from anywhere
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert all(f'id="chart-{chart}"' in page for chart in CHARTS)


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/run installs it): the report is not drawn",
)
def test_every_chart_draws_offline_and_shows_the_marts_figures(demo):
    from playwright.sync_api import sync_playwright

    requests = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(demo["report"].as_uri())
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot').length === {len(CHARTS)}"
            )
            drawn = page.evaluate(
                """() => Object.fromEntries(Array.from(
                    document.querySelectorAll('.js-plotly-plot')).map(chart => [
                        chart.id.replace('chart-', ''),
                        {traces: chart.querySelectorAll('g.trace').length,
                         height: chart.getBoundingClientRect().height}]))"""
            )
            sellers = page.evaluate("document.getElementById('chart-sellers').data[0]")
            gmv = page.evaluate(
                "document.getElementById('chart-gmv').data.map(t => [t.name, t.x, t.y])"
            )
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()

    assert requests == [demo["report"].as_uri()]  # nothing but the page itself
    assert set(drawn) == set(CHARTS)
    for chart, seen in drawn.items():
        assert seen["traces"] > 0 and seen["height"] > 200, (chart, seen)

    sales = _sku_sales(demo)
    per_seller = (
        sales.groupby(["marketplace_code", "seller_id"])["gmv_usd"]
        .sum(min_count=1)
        .astype(float)
        .fillna(0)
        .sort_values(ascending=False, kind="stable")
    )
    assert sellers["x"] == pytest.approx(list(per_seller.head(10)), abs=0.01)
    ids = [label.split(" · ")[1].split(" (")[0] for label in sellers["y"]]
    assert set(ids) <= set(sales["seller_id"])

    # a month's USD is its rows' sum, or none when a row with GMV has no rate
    sales["month"] = pd.to_datetime(sales["report_date"]).dt.strftime("%Y-%m-01")
    monthly = sales.groupby(["marketplace_code", "country_code", "month"]).apply(
        lambda rows: (
            float(rows["gmv_usd"].sum())
            if rows["gmv_usd"].notna().sum() == rows["gmv"].notna().sum()
            else float("nan")
        ),
        include_groups=False,
    )
    actual = [trace for trace in gmv if not trace[0].endswith("projected")]
    assert len(actual) == monthly.index.droplevel("month").nunique()
    for name, months, values in actual:
        marketplace, country = name.split(" ")
        expected = monthly.loc[(marketplace, country)]
        shown = dict(zip([month[:10] for month in months], values, strict=True))
        for month, value in expected.items():
            if pd.isna(value):
                assert shown[month] is None, (name, month)
            else:
                assert shown[month] == pytest.approx(value, abs=0.01), (name, month)
