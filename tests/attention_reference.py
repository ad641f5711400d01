"""An independent pandas model of the article-attention marts, written from the spec.

Input: the accepted, deduplicated events of `events_reference.EventsExpected.events()`
(naive UTC occurred_at). Only DETAILS_VIEW (a detail view) and ORDER_DETAILS (an order
line, a "transaction item") count, each for its article_id. 4-hour windows are aligned
to 00:00, 04:00, ... UTC; the trailing 4 hours as of t are [minute(t) - 4h, minute(t)).
Rankings: detail views desc, then order lines desc, then article_id asc.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

WINDOW_HOURS = 4
TRAILING = dt.timedelta(hours=4)
COUNTS = ["details_view_count", "transaction_item_count"]
SIX_PLACES = Decimal("0.000001")


def attention_events(events: pd.DataFrame) -> pd.DataFrame:
    """One row per counted event: article_id, occurred_at, is_view, is_line."""
    counted = events[
        events["event_type"].isin(["DETAILS_VIEW", "ORDER_DETAILS"]) & events["article_id"].notna()
    ]
    return pd.DataFrame(
        {
            "event_id": counted["event_id"].to_numpy(),
            "article_id": counted["article_id"].astype(str).to_numpy(),
            "occurred_at": pd.to_datetime(counted["occurred_at"]).to_numpy(),
            "is_view": (counted["event_type"] == "DETAILS_VIEW").astype(int).to_numpy(),
            "is_line": (counted["event_type"] == "ORDER_DETAILS").astype(int).to_numpy(),
        }
    )


def window_of(moment: dt.datetime | pd.Timestamp) -> pd.Timestamp:
    """Start of the aligned 4-hour UTC window of a naive UTC moment."""
    moment = pd.Timestamp(moment)
    day = moment.normalize()
    return day + pd.Timedelta(hours=(moment.hour // WINDOW_HOURS) * WINDOW_HOURS)


def _with_windows(counted: pd.DataFrame) -> pd.DataFrame:
    day = counted["occurred_at"].dt.normalize()
    hours = (counted["occurred_at"].dt.hour // WINDOW_HOURS) * WINDOW_HOURS
    return counted.assign(window_start=day + pd.to_timedelta(hours, unit="h"))


def article_windows(events: pd.DataFrame) -> pd.DataFrame:
    """marts.attention_article_window: one row per (article, window) with a counted event."""
    counted = _with_windows(attention_events(events))
    grouped = (
        counted.groupby(["article_id", "window_start"])
        .agg(details_view_count=("is_view", "sum"), transaction_item_count=("is_line", "sum"))
        .reset_index()
    )
    grouped["window_end"] = grouped["window_start"] + pd.Timedelta(hours=WINDOW_HOURS)
    return grouped[["article_id", "window_start", "window_end", *COUNTS]]


def counter(events: pd.DataFrame) -> pd.DataFrame:
    """marts.attention_counter: every window from the first to the last with events."""
    per_article = article_windows(events)
    per_window = per_article.groupby("window_start")[COUNTS].sum()
    if per_window.empty:
        return pd.DataFrame(columns=["window_start", "window_end", *COUNTS])
    starts = pd.date_range(per_window.index.min(), per_window.index.max(), freq=f"{WINDOW_HOURS}h")
    full = per_window.reindex(starts, fill_value=0).rename_axis("window_start").reset_index()
    full["window_end"] = full["window_start"] + pd.Timedelta(hours=WINDOW_HOURS)
    return full[["window_start", "window_end", *COUNTS]].astype({c: int for c in COUNTS})


def ratio(views: int, lines: int) -> Decimal | None:
    """Views per order line, 6 decimals; None without order lines."""
    if lines == 0:
        return None
    return (Decimal(int(views)) / Decimal(int(lines))).quantize(SIX_PLACES, ROUND_HALF_UP)


def rank(per_article: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Adds attention_rank (1, 2, ...) per `by` group: views desc, lines desc, id asc."""
    by = by or []
    ordered = per_article.sort_values(
        [*by, "details_view_count", "transaction_item_count", "article_id"],
        ascending=[True] * len(by) + [False, False, True],
        kind="stable",
    ).reset_index(drop=True)
    if by:
        ordered["attention_rank"] = ordered.groupby(by).cumcount() + 1
    else:
        ordered["attention_rank"] = range(1, len(ordered) + 1)
    return ordered


def high_attention(events: pd.DataFrame, top: int = 100) -> pd.DataFrame:
    """marts.high_attention_articles: the top `top` articles of every window."""
    ranked = rank(article_windows(events), ["window_start"])
    ranked = ranked[ranked["attention_rank"] <= top].copy()
    ranked["views_to_purchase_ratio"] = [
        ratio(v, n)
        for v, n in zip(ranked["details_view_count"], ranked["transaction_item_count"], strict=True)
    ]
    return ranked.reset_index(drop=True)


def trailing_bounds(as_of: dt.datetime) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[minute(t) - 4h, minute(t)) as naive UTC; a naive as_of is taken as UTC."""
    moment = pd.Timestamp(as_of)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    end = moment.floor("min")
    return end - TRAILING, end


def trailing(events: pd.DataFrame, as_of: dt.datetime) -> pd.DataFrame:
    """Per article views and order lines in the trailing 4 hours as of `as_of`, ranked."""
    start, end = trailing_bounds(as_of)
    counted = attention_events(events)
    inside = counted[(counted["occurred_at"] >= start) & (counted["occurred_at"] < end)]
    per_article = (
        inside.groupby("article_id")
        .agg(details_view_count=("is_view", "sum"), transaction_item_count=("is_line", "sum"))
        .reset_index()
    )
    return rank(per_article)
