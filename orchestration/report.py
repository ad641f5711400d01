"""`warehouse report`: one self-contained HTML page of charts from the marts.

Every figure comes from a mart as it is (finance, reporting, metrics, quality) or
from `warehouse attention`; this module only draws them. plotly.js is inlined, so
the page opens anywhere without a network.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ingest import settings

from .attention import trailing_attention
from .read_marts import fetch_mart, marts_connection


@dataclass
class Chart:
    key: str
    title: str
    note: str
    figure: object | None  # a plotly Figure; None when there is nothing to draw
    empty_note: str = "nothing to show yet"


@dataclass
class ReportFile:
    path: Path
    charts: list[Chart] = field(default_factory=list)

    def lines(self) -> list[str]:
        drawn = [chart.key for chart in self.charts if chart.figure is not None]
        empty = [chart.key for chart in self.charts if chart.figure is None]
        lines = [f"report: {self.path} ({len(drawn)} charts)"]
        if empty:
            lines.append(f"  nothing to draw yet: {', '.join(empty)}")
        return lines


def write_report(target: str, out: Path) -> ReportFile:
    """Read the marts, draw the charts and write the page (swapped in whole)."""
    with marts_connection(target, "warehouse report") as connection:
        marts = {
            "monthly": fetch_mart(
                connection, "finance_monthly_gmv", "marketplace_code, country_code, month_start"
            ),
            "projection": fetch_mart(
                connection,
                "finance_gmv_projection",
                "marketplace_code, country_code, projected_month",
            ),
            "sellers": fetch_mart(connection, "report_top_sellers", "seller_rank"),
            "skus": fetch_mart(connection, "report_top_skus", "sku_rank"),
            "daily": fetch_mart(connection, "shop_daily_metrics", "metric_date, country_code"),
            "rejections": fetch_mart(
                connection, "report_rejections", "rejected_what, rejected_count desc"
            ),
        }
    attention = trailing_attention(target, None, 20)
    charts = [
        _gmv_chart(marts["monthly"], marts["projection"]),
        _top_chart("sellers", "Top 10 sellers by GMV (USD)", marts["sellers"], "seller"),
        _top_chart("skus", "Top 10 SKUs by GMV (USD)", marts["skus"], "sku"),
        _rate_chart("cart-conversion", "Cart conversion per day", marts["daily"], "cart"),
        _rate_chart("payment-completion", "Payment completion per day", marts["daily"], "pay"),
        _attention_chart(attention),
        _rejections_chart(marts["rejections"]),
    ]
    report = ReportFile(out.resolve(), charts)
    _write_atomically(report.path, _page(target, charts))
    return report


# --------------------------------------------------------------------------- charts


def _gmv_chart(monthly: list[dict], projection: list[dict]) -> Chart:
    import plotly.graph_objects as go

    title = "GMV per marketplace and country (USD), with a three-month projection"
    note = (
        "Monthly GMV from marts.finance_monthly_gmv; dotted: the next three months "
        "from marts.finance_gmv_projection (its projection_method says how)."
    )
    if not monthly:
        return Chart("gmv", title, note, None)
    actual = defaultdict(list)
    for row in monthly:
        actual[(row["marketplace_code"], row["country_code"])].append(row)
    projected = defaultdict(list)
    for row in projection:
        projected[(row["marketplace_code"], row["country_code"])].append(row)
    figure = go.Figure()
    for (marketplace, country), rows in sorted(actual.items()):
        name = f"{marketplace} {country}"
        figure.add_scatter(
            x=[str(row["month_start"]) for row in rows],
            y=[_number(row["gmv_usd"]) for row in rows],
            mode="lines+markers",
            name=name,
            legendgroup=name,
        )
        ahead = projected.get((marketplace, country), [])
        if ahead:  # joined to the last actual month, so the line continues
            figure.add_scatter(
                x=[str(rows[-1]["month_start"])] + [str(r["projected_month"]) for r in ahead],
                y=[_number(rows[-1]["gmv_usd"])] + [_number(r["projected_gmv_usd"]) for r in ahead],
                mode="lines",
                line={"dash": "dot"},
                name=f"{name} projected",
                legendgroup=name,
                showlegend=False,
            )
    figure.update_layout(yaxis_title="GMV (USD)", xaxis_title="month")
    return Chart("gmv", title, note, _styled(figure))


def _top_chart(key: str, title: str, rows: list[dict], what: str) -> Chart:
    import plotly.graph_objects as go

    note = f"Over every day in marts.sku_sales; from marts.report_top_{what}s."
    if not rows:
        return Chart(key, title, note, None)
    # the id too: two sellers (or SKUs) may share a name, and plotly merges equal labels
    labels = [
        f"{row[f'{what}_name'] or ''} · {row[f'{what}_id']} ({row['marketplace_code']})"
        for row in rows
    ]
    figure = go.Figure(
        go.Bar(
            x=[_number(row["gmv_usd"]) for row in rows],
            y=labels,
            orientation="h",
            customdata=[row["units_sold"] for row in rows],
            hovertemplate="%{y}<br>GMV %{x:,.2f} USD<br>%{customdata:,} units<extra></extra>",
        )
    )
    figure.update_layout(xaxis_title="GMV (USD)", yaxis={"autorange": "reversed"})
    return Chart(key, title, note, _styled(figure))


_RATES = {
    "cart": ("cart_conversion_rate", "Carts converted to an order, of the carts created that day"),
    "pay": ("payment_completion_rate", "Orders paid, of the orders placed that day"),
}


def _rate_chart(key: str, title: str, daily: list[dict], which: str) -> Chart:
    import plotly.graph_objects as go

    column, meaning = _RATES[which]
    note = f"{meaning}, per shop country (marts.shop_daily_metrics.{column})."
    per_country = defaultdict(list)
    for row in daily:
        if row[column] is not None:
            per_country[row["country_code"]].append(row)
    if not per_country:
        return Chart(key, title, note, None)
    figure = go.Figure()
    for country, rows in sorted(per_country.items()):
        figure.add_scatter(
            x=[str(row["metric_date"]) for row in rows],
            y=[_number(row[column]) for row in rows],
            mode="lines+markers",
            name=country,
        )
    figure.update_layout(yaxis={"tickformat": ".0%", "range": [0, 1]}, xaxis_title="day (UTC)")
    return Chart(key, title, note, _styled(figure))


def _attention_chart(attention) -> Chart:
    import plotly.graph_objects as go

    window = f"{attention.window_start:%Y-%m-%d %H:%M} to {attention.window_end:%H:%M} UTC"
    title = "High attention now: the top 20 articles of the trailing 4 hours"
    note = f"Article detail views, {window} (marts.attention_trailing_4h)."
    if not attention.rows:
        return Chart("attention", title, note, None, "no article views in these 4 hours")
    figure = go.Figure(
        go.Bar(
            x=[views for _, _, views, _ in attention.rows],
            y=[f"{name or ''} · {article}" for article, name, _, _ in attention.rows],
            orientation="h",
            customdata=[lines for _, _, _, lines in attention.rows],
            hovertemplate="%{y}<br>%{x:,} views<br>%{customdata:,} order lines<extra></extra>",
        )
    )
    figure.update_layout(xaxis_title="detail views", yaxis={"autorange": "reversed"})
    return Chart("attention", title, note, _styled(figure, height=560))


def _rejections_chart(rows: list[dict]) -> Chart:
    import plotly.graph_objects as go

    title = "Rejected files, rows and events"
    note = (
        "By reason (marts.report_rejections): files sit in the inbox's _quarantine/ "
        "folder, rows and events in their quality marts."
    )
    if not rows:
        return Chart("rejections", title, note, None, "nothing was rejected")
    figure = go.Figure()
    per_kind = defaultdict(list)
    for row in rows:
        per_kind[row["rejected_what"]].append(row)
    for kind, kind_rows in per_kind.items():
        top = kind_rows[:10]  # the most frequent reasons of each kind
        figure.add_bar(
            x=[row["rejected_count"] for row in top],
            y=[_short(row["rejection_reason"]) for row in top],
            orientation="h",
            name=kind,
        )
    figure.update_layout(xaxis_title="rejected", yaxis={"autorange": "reversed"})
    return Chart("rejections", title, note, _styled(figure, height=520))


def _styled(figure, height: int = 440):
    figure.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 20, "b": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def _number(value) -> float | None:
    return float(value) if isinstance(value, Decimal | int | float) else None


def _short(text: str | None, width: int = 70) -> str:
    text = text or "(no reason)"
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- page


def _page(target: str, charts: list[Chart]) -> str:
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = []
    for chart in charts:
        if chart.figure is None:
            body = f'<p class="empty">{html.escape(chart.empty_note)}</p>'
        else:
            body = pio.to_html(
                chart.figure,
                full_html=False,
                include_plotlyjs=False,
                div_id=f"chart-{chart.key}",
                config={"displaylogo": False, "responsive": True},
            )
        sections.append(
            f'<section id="{chart.key}"><h2>{html.escape(chart.title)}</h2>'
            f"<p>{html.escape(chart.note)}</p>{body}</section>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Marketplace warehouse report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px;
  color: #1f2933; padding: 0 1rem; }}
h1 {{ margin-bottom: 0.2rem; }} h2 {{ margin: 2.2rem 0 0.3rem; font-size: 1.2rem; }}
p {{ margin: 0.2rem 0 0.6rem; color: #52606d; }} .empty {{ font-style: italic; }}
</style>
<script>{get_plotlyjs()}</script>
</head><body>
<h1>Marketplace warehouse report</h1>
<p>{html.escape(settings.describe_warehouse(target))}; generated {generated}.</p>
{"".join(sections)}
</body></html>
"""


def _write_atomically(path: Path, text: str) -> None:
    """Written beside the target, then renamed over it: a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
