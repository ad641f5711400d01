"""Deterministic mock web-shop events (contract: events.md, v1) as JSON Lines.

Customers browse in sessions (bursts of events minutes apart), some sessions fill a
cart, some carts check out, and orders are paid (sometimes after a failed attempt) or
stay pending. Articles are the SKUs of the marketplace sample catalogue
(`samples.marketplace_files`, same `catalogue_seed`), priced in each country's currency.

Delivery is at-least-once and out of order like the real feed: a share of events is
delivered twice (same event_id and payload) and a share arrives hours or days late.
`delivered_at` orders and splits the output; it is not part of the event payload.

Everything is vectorised (numpy draws, Arrow string kernels), so a million events take
a few seconds, and the same config always gives byte-identical files.

Run `python -m samples.events --help` to write events from the shell.
"""

from __future__ import annotations

import argparse
import gzip as gzip_module
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from samples.marketplace_files import (
    LARGE_CATALOGUE,
    SMALL_CATALOGUE,
    _catalogue,
    _currency,
    _fx_rate,
    _rng,
    _round_price,
)

EVENT_TYPES: tuple[str, ...] = (
    "DETAILS_VIEW",
    "CREATE_CART",
    "ADD_TO_CART",
    "REMOVE_FROM_CART",
    "SALES",
    "ORDER_DETAILS",
    "MAKE_PAYMENT",
    "SUCCESS_SALE",
)
VIEW, CREATE, ADD, REMOVE, SALES, DETAILS, PAYMENT, SUCCESS = range(len(EVENT_TYPES))

ENVELOPE: tuple[str, ...] = (
    "event_id",
    "event_type",
    "occurred_at",
    "customer_id",
    "session_id",
    "country_code",
)
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "DETAILS_VIEW": ("article_id",),
    "CREATE_CART": ("cart_id",),
    "ADD_TO_CART": ("cart_id", "article_id", "quantity", "unit_price", "currency"),
    "REMOVE_FROM_CART": ("cart_id", "article_id", "quantity"),
    "SALES": ("order_id", "cart_id", "total_amount", "currency"),
    "ORDER_DETAILS": (
        "order_id",
        "line_number",
        "article_id",
        "quantity",
        "unit_price",
        "currency",
    ),
    "MAKE_PAYMENT": ("payment_id", "order_id", "amount", "currency", "payment_method", "status"),
    "SUCCESS_SALE": ("order_id", "cart_id", "payment_id"),
}
_INT_FIELDS = frozenset({"quantity", "line_number"})
_MONEY_FIELDS = frozenset({"unit_price", "total_amount", "amount"})

# Local time of each shop country (Indonesia: WIB, where most customers live).
UTC_OFFSET_HOURS: dict[str, int] = {"SG": 8, "MY": 8, "PH": 8, "TH": 7, "VN": 7, "ID": 7}
WHOLE_CURRENCIES = frozenset({"IDR", "VND"})  # prices without decimals
PAYMENT_METHODS: tuple[str, ...] = ("card", "paypal", "bank_transfer", "cod")
PAYMENT_STATUSES: tuple[str, ...] = ("succeeded", "failed")

LATE_AFTER = timedelta(hours=1)  # delivered later than this after occurred_at counts as late
_ON_TIME_CAP_MS = 10 * 60_000
_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_GZIP_LEVEL = 1  # JSON compresses well even at level 1; higher levels cost seconds per 1M

# Shares of customers per country (rough online-shopper populations).
_COUNTRY_WEIGHTS = {"ID": 0.30, "PH": 0.18, "VN": 0.17, "TH": 0.14, "MY": 0.11, "SG": 0.10}
# Session starts per local hour: quiet nights, a lunch bump and an evening peak.
_HOURLY = np.array(
    [0.6, 0.3, 0.2, 0.15, 0.15, 0.3, 0.8, 1.5, 2.2, 2.6, 2.8, 3.0]
    + [3.4, 3.2, 2.9, 2.8, 3.0, 3.4, 4.2, 5.2, 5.8, 5.6, 4.3, 2.2]
)
_LINES_PER_CART = np.array([0.45, 0.30, 0.15, 0.10])  # 1..4 articles
_QUANTITY = np.array([0.70, 0.20, 0.10])  # 1..3 pieces
_METHOD_WEIGHTS = np.array([0.45, 0.15, 0.20, 0.20])
_DIGIT_PAIRS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8)
_CENT_TEXT = pa.array([f".{cents:02d}" for cents in range(100)])


@dataclass(frozen=True)
class EventConfig:
    """What to generate; every field has a realistic default."""

    customers: int = 1000
    days: int = 7
    start: datetime = datetime(2026, 10, 1, tzinfo=UTC)  # within the bundled ECB rates
    seed: int = 7
    duplicate_rate: float = 0.01  # share of events delivered a second time
    late_rate: float = 0.02  # share of events delivered 1 h .. max_late_hours late
    max_late_hours: float = 72.0
    countries: tuple[str, ...] = ("SG", "MY", "TH", "ID", "PH", "VN")
    # Shape knobs.
    views_per_day: float = 2.5  # browsing DETAILS_VIEWs per average customer and weekday
    views_per_session: float = 5.0
    weekend_factor: float = 1.4  # Saturday and Sunday traffic relative to weekdays
    cart_rate: float = 0.18  # share of sessions that create a cart
    remove_rate: float = 0.15  # share of carts with a REMOVE_FROM_CART
    checkout_rate: float = 0.45  # share of non-empty carts that become an order
    unpaid_rate: float = 0.08  # share of orders without any payment attempt (pending)
    payment_failure_rate: float = 0.10  # share of first payment attempts that fail
    retry_rate: float = 0.80  # share of failed first attempts retried (and then succeeding)
    zipf_exponent: float = 1.1  # article popularity skew
    marketplaces: tuple[str, ...] = ("GDN", "SEV")  # whose sample SKUs the shop sells
    large_catalogue: bool = False  # the marketplace samples' large catalogue (2,000 SKUs each)
    catalogue_seed: int = 7  # seed of the marketplace sample whose SKUs are the articles
    # The feed as seen at this moment: deliveries due later (late or retried events, the
    # tails of sessions still going on) are still in flight and left out. None: all.
    # Not in repr, which keys the ids: an event keeps its id whenever the feed is seen.
    delivered_by: datetime | None = field(default=None, repr=False)

    @classmethod
    def ending_at(cls, now: datetime, days: int = 7, **fields) -> EventConfig:
        """`days` of events up to `now` (to the minute), as delivered by then: the demo's
        trailing hours are busy right away, and nothing is dated after `now`."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware, e.g. datetime.now(UTC)")
        end = now.astimezone(UTC).replace(second=0, microsecond=0)
        return cls(days=days, start=end - timedelta(days=days), delivered_by=end, **fields)

    def __post_init__(self) -> None:
        if self.customers < 1 or self.days < 1:
            raise ValueError("customers and days must be at least 1")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware, e.g. 2026-11-01T00:00:00+00:00")
        if self.delivered_by is not None and self.delivered_by.tzinfo is None:
            raise ValueError("delivered_by must be timezone-aware")
        unknown = sorted(set(self.countries) - set(UTC_OFFSET_HOURS))
        if unknown or not self.countries:
            known = ", ".join(sorted(UTC_OFFSET_HOURS))
            raise ValueError(f"countries must be a non-empty subset of {known} (got {unknown})")
        rates = ("duplicate_rate", "late_rate", "cart_rate", "remove_rate", "checkout_rate")
        rates += ("unpaid_rate", "payment_failure_rate", "retry_rate")
        for name in rates:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1 (got {getattr(self, name)})")
        if self.max_late_hours <= LATE_AFTER / timedelta(hours=1):
            raise ValueError(f"max_late_hours must be more than 1 (got {self.max_late_hours})")
        if self.views_per_session < 1 or self.views_per_day <= 0:
            raise ValueError("views_per_session must be >= 1 and views_per_day > 0")


# --------------------------------------------------------------------------- text helpers


def _string_array(chars: np.ndarray) -> pa.Array:
    """Fixed-width ASCII rows (an (n, width) uint8 array) as an Arrow string array."""
    n, width = chars.shape
    large = n * width >= 2**31 - 1
    offsets = np.arange(n + 1, dtype=np.int64 if large else np.int32) * width
    kind = pa.LargeStringArray if large else pa.StringArray
    return kind.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars)))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers, as (n, width) ASCII codes."""
    values = np.asarray(values, dtype=np.int64)
    chars = np.empty((values.size, width), dtype=np.uint8)
    # Two digits per table lookup: half the integer divisions of digit-by-digit.
    for end in range(width, 0, -2):
        if end == 1:
            chars[:, 0] = values % 10 + 48
        else:
            chars[:, end - 2 : end] = _DIGIT_PAIRS[values % 100]
            values = values // 100
    return chars


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random version-4 UUIDs drawn from `rng`, as (n, 36) ASCII codes."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2], nibbles[:, 1::2] = raw >> 4, raw & 0x0F
    hexed = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    for target, source in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        size = 12 if source == 20 else 8 if source == 0 else 4
        chars[:, target : target + size] = hexed[:, source : source + size]
    return chars


def _numbered_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    chars = np.concatenate(
        [np.broadcast_to(head, (len(numbers), head.size)), _digits(numbers, width)], axis=1
    )
    return _string_array(chars)


def _rfc3339(utc_ms: np.ndarray, offset_minutes: np.ndarray) -> pa.Array:
    """`YYYY-MM-DDTHH:MM:SS.mmm+HH:MM` in local time (strftime is ~10x slower)."""
    local = utc_ms + offset_minutes.astype(np.int64) * 60_000
    day_number, ms_of_day = np.divmod(local, _DAY_MS)
    days = day_number.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months).astype(np.int64) + 1
    hour, rest = np.divmod(ms_of_day, _HOUR_MS)
    minute, rest = np.divmod(rest, 60_000)
    second, milli = np.divmod(rest, 1000)
    chars = np.empty((len(local), 29), dtype=np.uint8)
    parts = ((0, year, 4), (5, month, 2), (8, day, 2), (11, hour, 2), (14, minute, 2))
    parts += ((17, second, 2), (20, milli, 3))
    for position, values, width in parts:
        chars[:, position : position + width] = _digits(values, width)
    for position, text in (
        (4, "-"),
        (7, "-"),
        (10, "T"),
        (13, ":"),
        (16, ":"),
        (19, "."),
        (26, ":"),
    ):
        chars[:, position] = ord(text)
    chars[:, 23] = np.where(offset_minutes < 0, ord("-"), ord("+"))
    chars[:, 24:26] = _digits(np.abs(offset_minutes) // 60, 2)
    chars[:, 27:29] = _digits(np.abs(offset_minutes) % 60, 2)
    return _string_array(chars)


def _nullable(values: np.ndarray, missing: np.ndarray, type_: pa.DataType) -> pa.Array:
    return pa.array(values, type=type_, mask=missing)


def _lookup(labels: pa.Array | list[str], codes: np.ndarray) -> pa.Array:
    """labels[codes], null where the code is negative."""
    labels = labels if isinstance(labels, pa.Array) else pa.array(labels, pa.string())
    return labels.take(pa.array(codes, type=pa.int64(), mask=codes < 0))


# --------------------------------------------------------------------------- the shop


@dataclass(frozen=True)
class _Shop:
    article_ids: pa.Array
    popularity: np.ndarray  # probability that a view is of each article
    prices: np.ndarray  # (country, article): unit price in the country's currency
    currencies: tuple[str, ...]  # per country, in config.countries order


def _shop(config: EventConfig) -> _Shop:
    size = LARGE_CATALOGUE if config.large_catalogue else SMALL_CATALOGUE
    catalogues = [_catalogue(m, config.catalogue_seed, size).skus for m in config.marketplaces]
    skus = pd.concat(catalogues, ignore_index=True)
    usd = skus["usd_price"].to_numpy()
    currencies = tuple(_currency(country) for country in config.countries)
    prices = np.stack([_round_price(usd * _fx_rate(c), c) for c in currencies])
    # Popularity rank is shuffled so the best sellers are not simply the lowest SKU ids.
    rank = _rng(config.seed, "events", "popularity").permutation(len(skus))
    weights = 1.0 / (rank + 1.0) ** config.zipf_exponent
    article_ids = pa.array(skus["sku_id"].tolist(), pa.string())
    return _Shop(article_ids, weights / weights.sum(), prices, currencies)


# --------------------------------------------------------------------------- behaviour


@dataclass(frozen=True)
class _Customers:
    country: np.ndarray  # index into config.countries
    activity: np.ndarray  # multiplier of the average session rate


@dataclass(frozen=True)
class _Sessions:
    customer: np.ndarray
    start_ms: np.ndarray  # UTC epoch milliseconds
    views: np.ndarray  # browsing views in the session


def _customers(config: EventConfig) -> _Customers:
    # Keyed by seed only: the same customers come back in a later week's events.
    rng = _rng(config.seed, "events", "customers")
    weights = np.array([_COUNTRY_WEIGHTS.get(c, 0.1) for c in config.countries])
    country = rng.choice(len(config.countries), config.customers, p=weights / weights.sum())
    # Gamma-distributed activity: most customers visit rarely, a few very often.
    return _Customers(country, rng.gamma(0.7, 1 / 0.7, config.customers))


def _sessions(config: EventConfig, customers: _Customers, rng: np.random.Generator) -> _Sessions:
    midnight = config.start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    weekday = (midnight.weekday() + np.arange(config.days)) % 7
    day_factor = np.where(weekday >= 5, config.weekend_factor, 1.0)
    per_day = config.views_per_day / config.views_per_session
    counts = rng.poisson(customers.activity[:, None] * day_factor[None, :] * per_day)
    customer, day = np.divmod(np.repeat(np.arange(counts.size), counts.ravel()), config.days)
    n = customer.size
    local_s = day * 86_400 + rng.choice(24, n, p=_HOURLY / _HOURLY.sum()) * 3600
    local_s = local_s + rng.random(n) * 3600
    offset_s = _offsets_minutes(config)[customers.country[customer]] * 60
    # Local day d maps to UTC day d counted from the start's UTC midnight (a start later
    # in the day keeps the evenings in the evening); wrapping keeps every session inside
    # the window.
    window_s = config.days * 86_400
    since_midnight_s = int((config.start - midnight).total_seconds())
    utc_s = np.mod(local_s - offset_s - since_midnight_s, window_s)
    start_ms = _epoch_ms(config.start) + np.floor(utc_s * 1000).astype(np.int64)
    views = 1 + rng.poisson(config.views_per_session - 1, n)
    return _Sessions(customer, start_ms, views)


def _offsets_minutes(config: EventConfig) -> np.ndarray:
    return np.array([UTC_OFFSET_HOURS[c] * 60 for c in config.countries], dtype=np.int64)


def _epoch_ms(moment: datetime) -> int:
    return int(round(moment.timestamp() * 1000))


def _gaps_ms(rng: np.random.Generator, n: int, mean_s: float, min_s: float) -> np.ndarray:
    """Pause before an event: a minimum plus an exponential tail, at least 1 ms."""
    return np.maximum(np.rint((min_s + rng.exponential(mean_s, n)) * 1000), 1).astype(np.int64)


def _uniform_ms(rng: np.random.Generator, n: int, low_s: float, high_s: float) -> np.ndarray:
    return np.maximum(np.rint(rng.uniform(low_s, high_s, n) * 1000), 1).astype(np.int64)


def _position_in_group(group: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within runs of equal values of a sorted `group` array."""
    if group.size == 0:
        return group.copy()
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    lengths = np.diff(np.r_[starts, group.size])
    return np.arange(group.size) - np.repeat(starts, lengths)


def _first_occurrences(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Mask of rows whose (group, value) pair did not occur earlier."""
    order = np.lexsort((np.arange(group.size), value, group))
    g, v = group[order], value[order]
    repeated = np.r_[False, (g[1:] == g[:-1]) & (v[1:] == v[:-1])]
    keep = np.empty(group.size, dtype=bool)
    keep[order] = ~repeated
    return keep


class _Blocks:
    """Events collected per kind, each placed in its session by a rank and a pause."""

    INT_COLUMNS = ("article", "quantity", "cart", "order", "line_number", "payment", "method")
    INT_COLUMNS += ("status",)
    MONEY_COLUMNS = ("unit_price", "total_amount", "amount")

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(
        self, kind: int, session: np.ndarray, rank: np.ndarray, gap: np.ndarray, **columns
    ) -> None:
        n = session.size
        part = {"kind": np.full(n, kind, np.int8), "session": session, "rank": rank, "gap": gap}
        for name in self.INT_COLUMNS:
            part[name] = np.asarray(columns.pop(name, np.full(n, -1)), dtype=np.int64)
        for name in self.MONEY_COLUMNS:
            part[name] = np.asarray(columns.pop(name, np.full(n, np.nan)), dtype=np.float64)
        if columns:
            raise TypeError(f"unknown event columns {sorted(columns)}")
        self.parts.append(part)

    def stacked(self) -> dict[str, np.ndarray]:
        """All events, sorted by session and rank (the order they happened in)."""
        merged = {name: np.concatenate([p[name] for p in self.parts]) for name in self.parts[0]}
        order = np.lexsort((merged["rank"], merged["session"]))
        return {name: values[order] for name, values in merged.items()}


@dataclass
class _Counts:
    sessions: int = 0
    carts: int = 0
    orders: int = 0
    payments: int = 0


def _browse(blocks: _Blocks, sessions: _Sessions, shop: _Shop, rng: np.random.Generator) -> None:
    session = np.repeat(np.arange(sessions.views.size), sessions.views)
    article = rng.choice(len(shop.article_ids), session.size, p=shop.popularity)
    gap = _gaps_ms(rng, session.size, 75, 3)
    blocks.add(VIEW, session, _position_in_group(session).astype(float), gap, article=article)


def _carts(
    blocks: _Blocks,
    config: EventConfig,
    sessions: _Sessions,
    customers: _Customers,
    shop: _Shop,
    rng: np.random.Generator,
) -> _Counts:
    """Carts, orders and payments; each added article is viewed right before it is added."""
    cart_session = np.flatnonzero(rng.random(sessions.views.size) < config.cart_rate)
    n_carts = cart_session.size
    wanted = rng.choice(4, n_carts, p=_LINES_PER_CART) + 1
    line_cart = np.repeat(np.arange(n_carts), wanted)
    article = rng.choice(len(shop.article_ids), line_cart.size, p=shop.popularity)
    # One line per article: a second pick of the same article is simply not added.
    keep = _first_occurrences(line_cart, article)
    line_cart, article = line_cart[keep], article[keep]
    n_lines = np.bincount(line_cart, minlength=n_carts)
    position = _position_in_group(line_cart)
    quantity = rng.choice(3, line_cart.size, p=_QUANTITY) + 1
    session = cart_session[line_cart]
    price = shop.prices[customers.country[sessions.customer[session]], article]
    base = sessions.views[cart_session].astype(float)  # carts start after the browsing
    line_base = base[line_cart] + 2 * position

    blocks.add(VIEW, session, line_base, _gaps_ms(rng, session.size, 60, 3), article=article)
    create_gap = _uniform_ms(rng, n_carts, 0.3, 2.0)
    blocks.add(CREATE, cart_session, base + 0.5, create_gap, cart=np.arange(n_carts))
    add_gap = _gaps_ms(rng, session.size, 25, 2)
    blocks.add(
        ADD, session, line_base + 1, add_gap,
        cart=line_cart, article=article, quantity=quantity, unit_price=price,
    )  # fmt: skip

    remaining = _remove_some(blocks, config, cart_session, base, n_lines, article, quantity, rng)
    counts = _checkout(
        blocks, config, cart_session, base + 2 * n_lines, line_cart, article, remaining, price, rng
    )
    counts.carts = n_carts
    return counts


def _remove_some(
    blocks: _Blocks,
    config: EventConfig,
    cart_session: np.ndarray,
    base: np.ndarray,
    n_lines: np.ndarray,
    article: np.ndarray,
    quantity: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Take some pieces of one article out of some carts; return what is left per line."""
    n_carts = cart_session.size
    removing = np.flatnonzero(rng.random(n_carts) < config.remove_rate)
    first_line = np.cumsum(n_lines) - n_lines
    line = first_line[removing] + (rng.random(removing.size) * n_lines[removing]).astype(int)
    taken = 1 + (rng.random(removing.size) * quantity[line]).astype(np.int64)
    gap = _gaps_ms(rng, removing.size, 90, 5)
    rank = base[removing] + 2 * n_lines[removing]
    blocks.add(
        REMOVE, cart_session[removing], rank, gap,
        cart=removing, article=article[line], quantity=taken,
    )  # fmt: skip
    remaining = quantity.copy()
    remaining[line] -= taken
    return remaining


def _checkout(
    blocks: _Blocks,
    config: EventConfig,
    cart_session: np.ndarray,
    cart_end: np.ndarray,
    line_cart: np.ndarray,
    article: np.ndarray,
    remaining: np.ndarray,
    price: np.ndarray,
    rng: np.random.Generator,
) -> _Counts:
    """SALES and ORDER_DETAILS for carts that check out; emptied carts cannot."""
    n_carts = cart_session.size
    not_empty = np.bincount(line_cart, weights=remaining, minlength=n_carts) > 0
    order_cart = np.flatnonzero(not_empty & (rng.random(n_carts) < config.checkout_rate))
    n_orders = order_cart.size
    order_of_cart = np.full(n_carts, -1)
    order_of_cart[order_cart] = np.arange(n_orders)
    line = np.flatnonzero((order_of_cart[line_cart] >= 0) & (remaining > 0))
    line_order = order_of_cart[line_cart[line]]
    number = _position_in_group(line_order) + 1
    money = remaining[line] * price[line]
    total = np.round(np.bincount(line_order, weights=money, minlength=n_orders), 2) + 0.0

    session, rank = cart_session[order_cart], cart_end[order_cart] + 1
    blocks.add(
        SALES, session, rank, _gaps_ms(rng, n_orders, 150, 20),
        order=np.arange(n_orders), cart=order_cart, total_amount=total,
    )  # fmt: skip
    blocks.add(
        DETAILS, session[line_order], rank[line_order] + 0.1 * number,
        _uniform_ms(rng, line.size, 0.001, 0.02),
        order=line_order, line_number=number, article=article[line],
        quantity=remaining[line], unit_price=price[line],
    )  # fmt: skip
    payments = _pay(blocks, config, session, rank, order_cart, total, rng)
    return _Counts(orders=n_orders, payments=payments)


def _pay(
    blocks: _Blocks,
    config: EventConfig,
    session: np.ndarray,
    sales_rank: np.ndarray,
    order_cart: np.ndarray,
    total: np.ndarray,
    rng: np.random.Generator,
) -> int:
    """First attempts (some fail), retries that succeed, SUCCESS_SALE after a success."""
    n_orders = session.size
    attempted = np.flatnonzero(rng.random(n_orders) >= config.unpaid_rate)
    failed = rng.random(attempted.size) < config.payment_failure_rate
    retried = failed & (rng.random(attempted.size) < config.retry_rate)
    method = rng.choice(len(PAYMENT_METHODS), attempted.size, p=_METHOD_WEIGHTS)
    # Half of the retries switch method (a declined card often ends up as cod or paypal).
    other = rng.choice(len(PAYMENT_METHODS), attempted.size, p=_METHOD_WEIGHTS)
    retry_method = np.where(rng.random(attempted.size) < 0.5, method, other)

    first_payment = np.arange(attempted.size)
    blocks.add(
        PAYMENT, session[attempted], sales_rank[attempted] + 1,
        _gaps_ms(rng, attempted.size, 40, 5),
        payment=first_payment, order=attempted, amount=total[attempted],
        method=method, status=failed.astype(np.int64),
    )  # fmt: skip
    retry = attempted[retried]
    retry_payment = attempted.size + np.arange(retry.size)
    blocks.add(
        PAYMENT, session[retry], sales_rank[retry] + 2, _gaps_ms(rng, retry.size, 120, 20),
        payment=retry_payment, order=retry, amount=total[retry],
        method=retry_method[retried], status=np.zeros(retry.size, np.int64),
    )  # fmt: skip
    paid = np.concatenate([attempted[~failed], retry])
    paid_with = np.concatenate([first_payment[~failed], retry_payment])
    blocks.add(
        SUCCESS, session[paid], sales_rank[paid] + 3, _uniform_ms(rng, paid.size, 0.5, 3.0),
        order=paid, cart=order_cart[paid], payment=paid_with,
    )  # fmt: skip
    return attempted.size + retry.size


def _occurred_ms(events: dict[str, np.ndarray], sessions: _Sessions) -> np.ndarray:
    """Session start plus the running sum of pauses within the session."""
    session, gap = events["session"], events["gap"].copy()
    if session.size == 0:
        return gap
    first = np.r_[True, session[1:] != session[:-1]]
    gap[first] = 0
    elapsed = np.cumsum(gap)
    at_start = elapsed[first][np.cumsum(first) - 1]
    return sessions.start_ms[session] + elapsed - at_start


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class _Generated:
    table: pa.Table
    duplicates: int
    late: int


def _delivery(
    config: EventConfig, occurred_ms: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Row numbers (originals and duplicates) in delivery order, their delivered_at, counts."""
    rng = _rng(config.seed, "events", "delivery", config.start.isoformat())
    n = occurred_ms.size
    late = rng.random(n) < config.late_rate
    late_ms = rng.uniform(
        LATE_AFTER / timedelta(milliseconds=1), config.max_late_hours * _HOUR_MS, n
    )
    on_time_ms = np.minimum(rng.lognormal(math.log(3000), 1.2, n), _ON_TIME_CAP_MS)
    delivered = occurred_ms + np.rint(np.where(late, late_ms, on_time_ms)).astype(np.int64)
    # At-least-once: the sender retries a delivery it did not see acknowledged.
    duplicate = np.flatnonzero(rng.random(n) < config.duplicate_rate)
    again = delivered[duplicate] + np.rint(1000 + rng.exponential(30 * 60_000, duplicate.size))
    rows = np.concatenate([np.arange(n), duplicate])
    when = np.concatenate([delivered, again.astype(np.int64)])
    is_late = np.concatenate([late, np.zeros(duplicate.size, dtype=bool)])
    is_again = np.arange(rows.size) >= n
    if config.delivered_by is not None:
        due = when <= _epoch_ms(config.delivered_by)
        rows, when, is_late, is_again = rows[due], when[due], is_late[due], is_again[due]
    order = np.argsort(when, kind="stable")
    return rows[order], when[order], int(is_again.sum()), int(is_late.sum())


def _generate(config: EventConfig) -> _Generated:
    shop = _shop(config)
    customers = _customers(config)
    rng = _rng(config.seed, "events", "behaviour", config.start.isoformat())
    sessions = _sessions(config, customers, rng)
    blocks = _Blocks()
    _browse(blocks, sessions, shop, rng)
    counts = _carts(blocks, config, sessions, customers, shop, rng)
    counts.sessions = sessions.views.size
    events = blocks.stacked()
    occurred = _occurred_ms(events, sessions)
    rows, delivered, duplicates, late = _delivery(config, occurred)
    table = _event_table(config, events, occurred, rows, sessions, customers, shop, counts)
    table = table.append_column("delivered_at", pa.array(delivered, pa.timestamp("ms", tz="UTC")))
    return _Generated(table, duplicates, late)


def _event_table(
    config: EventConfig,
    events: dict[str, np.ndarray],
    occurred_ms: np.ndarray,
    rows: np.ndarray,
    sessions: _Sessions,
    customers: _Customers,
    shop: _Shop,
    counts: _Counts,
) -> pa.Table:
    """The payload columns of events `rows` (in that order; a row may repeat)."""
    # Keyed by the whole config, so a run with other settings never reuses an id.
    ids = _rng(config.seed, "events", "ids", repr(config))
    session_ids = _string_array(_uuids(ids, counts.sessions))
    cart_ids = _string_array(_uuids(ids, counts.carts))
    order_ids = _string_array(_uuids(ids, counts.orders))
    payment_ids = _string_array(_uuids(ids, counts.payments))
    event_ids = _string_array(_uuids(ids, occurred_ms.size)[rows])

    # Index the numeric arrays first: cheaper than reordering finished string columns.
    ev = {name: values[rows] for name, values in events.items()}
    customer = sessions.customer[ev["session"]]
    country = customers.country[customer]
    has_currency = np.isin(ev["kind"], (ADD, SALES, DETAILS, PAYMENT))
    width = max(7, len(str(config.customers)))
    customer_ids = _numbered_ids("C", customer + 1, width)
    return pa.table(
        {
            "event_id": event_ids,
            "event_type": _lookup(list(EVENT_TYPES), ev["kind"].astype(np.int64)),
            "occurred_at": _rfc3339(occurred_ms[rows], _offsets_minutes(config)[country]),
            "customer_id": customer_ids,
            "session_id": session_ids.take(pa.array(ev["session"])),
            "country_code": _lookup(list(config.countries), country),
            "article_id": _lookup(shop.article_ids, ev["article"]),
            "cart_id": _lookup(cart_ids, ev["cart"]),
            "quantity": _nullable(ev["quantity"], ev["quantity"] < 0, pa.int32()),
            "unit_price": _money(ev["unit_price"]),
            "currency": _lookup(list(shop.currencies), np.where(has_currency, country, -1)),
            "order_id": _lookup(order_ids, ev["order"]),
            "total_amount": _money(ev["total_amount"]),
            "line_number": _nullable(ev["line_number"], ev["line_number"] < 0, pa.int32()),
            "payment_id": _lookup(payment_ids, ev["payment"]),
            "amount": _money(ev["amount"]),
            "payment_method": _lookup(list(PAYMENT_METHODS), ev["method"]),
            "status": _lookup(list(PAYMENT_STATUSES), ev["status"]),
        }
    )


def _money(values: np.ndarray) -> pa.Array:
    return _nullable(values, np.isnan(values), pa.float64())


def generate_events(config: EventConfig) -> pa.Table:
    """All delivered events (duplicates included) in delivery order, with `delivered_at`."""
    return _generate(config).table


# --------------------------------------------------------------------------- JSON Lines


def _money_text(values: pa.Array, currency: pa.Array) -> pa.Array:
    """Two decimals, or a whole number for currencies without minor units."""
    cents = np.rint(values.to_numpy(zero_copy_only=False) * 100).astype(np.int64)
    units = pc.cast(pa.array(cents // 100), pa.string())
    with_cents = pc.binary_join_element_wise(units, _CENT_TEXT.take(pa.array(cents % 100)), "")
    whole = pc.is_in(currency, value_set=pa.array(sorted(WHOLE_CURRENCIES)))
    return pc.if_else(whole, units, with_cents)


def _type_lines(events: pa.Table, event_type: str) -> pa.Array:
    """JSON objects (one per row, newline-terminated) with the fields of one event type."""
    parts: list[pa.Array | str] = []
    literal = "{"
    for i, name in enumerate(ENVELOPE + TYPE_FIELDS[event_type]):
        literal += ("," if i else "") + f'"{name}":'
        if name == "event_type":
            literal += f'"{event_type}"'
            continue
        column = events.column(name).combine_chunks()
        if name in _INT_FIELDS:
            parts += [literal, pc.cast(column, pa.string())]
            literal = ""
        elif name in _MONEY_FIELDS:
            currency = events.column("currency").combine_chunks()
            parts += [literal, _money_text(column, currency)]
            literal = ""
        else:  # ids, codes and timestamps: generated ASCII that needs no escaping
            parts += [literal + '"', column]
            literal = '"'
    parts.append(literal + "}\n")
    return pc.binary_join_element_wise(*parts, "")


def _json_lines(table: pa.Table) -> pa.LargeStringArray:
    """Each row as one JSON line, in table order."""
    codes = pc.index_in(table.column("event_type"), value_set=pa.array(EVENT_TYPES)).to_numpy(
        zero_copy_only=False
    )
    chunks, positions = [], []
    for code, event_type in enumerate(EVENT_TYPES):
        rows = np.flatnonzero(codes == code)
        if rows.size:
            columns = [*ENVELOPE[:1], *ENVELOPE[2:], *TYPE_FIELDS[event_type]]
            if any(name in _MONEY_FIELDS for name in columns):
                columns.append("currency")
            subset = table.select(list(dict.fromkeys(columns))).take(pa.array(rows))
            lines = _type_lines(subset, event_type)
            chunks.append(lines.cast(pa.large_string()))
            positions.append(rows)
    if not chunks:
        return pa.array([], pa.large_string())
    order = pa.array(np.argsort(np.concatenate(positions), kind="stable"))
    merged = pa.concat_arrays(chunks)
    chunks.clear()  # the lines exist three times otherwise: per type, merged, reordered
    return merged.take(order)


def _byte_range(lines: pa.LargeStringArray, start: int, stop: int) -> memoryview:
    """The bytes of rows start..stop: Arrow keeps string values back to back."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset :]
    return memoryview(lines.buffers()[2])[offsets[start] : offsets[stop]]


def _file_bounds(delivered_ms: np.ndarray, files: int | None) -> list[tuple[int, int]]:
    """Row ranges per file: one per delivery hour, or `files` chunks of equal size."""
    n = delivered_ms.size
    if files is not None:
        if files < 1:
            raise ValueError(f"files must be at least 1 (got {files})")
        edges = np.linspace(0, n, min(files, max(n, 1)) + 1).round().astype(int)
    else:
        hours = delivered_ms // _HOUR_MS
        edges = np.r_[0, np.flatnonzero(np.diff(hours)) + 1, n]
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _file_name(first_delivered_ms: int, part: int | None, compressed: bool) -> str:
    hour = datetime.fromtimestamp(first_delivered_ms / 1000, UTC).strftime("%Y-%m-%dT%H")
    suffix = ".jsonl.gz" if compressed else ".jsonl"
    return f"events_{hour}{'' if part is None else f'_part{part:04d}'}{suffix}"


def _write_table(
    table: pa.Table, out: Path, *, files: int | None, gzip: bool, progress: bool
) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    delivered = table.column("delivered_at").combine_chunks().cast(pa.int64()).to_numpy()
    lines = _json_lines(table)
    bounds = _file_bounds(delivered, files)
    paths = [
        out / _file_name(int(delivered[start]), number if files else None, gzip)
        for number, (start, _) in enumerate(bounds, start=1)
    ]
    # zlib and file writes release the GIL, so threads use both cores.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        pending = [
            pool.submit(_write_file, path, _byte_range(lines, start, stop), gzip)
            for path, (start, stop) in zip(paths, bounds, strict=True)
        ]
        for number, (done, (_, stop)) in enumerate(zip(pending, bounds, strict=True), start=1):
            done.result()
            if progress:
                message = f"\rwrote {number}/{len(bounds)} files, {stop:,} events"
                print(message, end="", file=sys.stderr, flush=True)
    if progress and bounds:
        print(file=sys.stderr)
    return paths


def _write_file(path: Path, data: memoryview, compressed: bool) -> None:
    if compressed:
        # mtime=0 and no file name in the header keep the bytes reproducible.
        data = gzip_module.compress(data, compresslevel=_GZIP_LEVEL, mtime=0)
    path.write_bytes(data)


def write_events(
    config: EventConfig,
    out: Path,
    *,
    files: int | None = None,
    gzip: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Write the events as JSON Lines into `out`, one file per delivery hour or `files` chunks.

    Files are named `events_<first delivery hour>[_partNNNN].jsonl[.gz]`, so sorting the
    names gives delivery order. Returns the paths in that order.
    """
    table = _generate(config).table
    return _write_table(table, Path(out), files=files, gzip=gzip, progress=progress)


# --------------------------------------------------------------------------- command line


def _utc_start(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def main(argv: list[str] | None = None, prog: str = "python -m samples.events") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Write deterministic mock web-shop events (contract events.md) as JSON Lines "
            "files into OUT, one file per delivery hour unless --files is given. Includes "
            "duplicate and late deliveries, like the real feed."
        ),
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    parser.add_argument("--customers", type=int, default=1000, help="customers (default: 1000)")
    parser.add_argument("--days", type=int, default=7, help="days of activity (default: 7)")
    parser.add_argument(
        "--start",
        type=_utc_start,
        default=EventConfig.start,
        help="first day, ISO 8601, UTC unless an offset is given (default: 2026-10-01)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--gzip", action="store_true", help="write .jsonl.gz files")
    parser.add_argument("--files", type=int, default=None, help="split into K equal files")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    config = EventConfig(customers=args.customers, days=args.days, start=args.start, seed=args.seed)

    began = time.perf_counter()
    generated = _generate(config)
    paths = _write_table(
        generated.table, args.out, files=args.files, gzip=args.gzip, progress=not args.quiet
    )
    seconds = time.perf_counter() - began
    print(
        f"{generated.table.num_rows:,} events ({generated.duplicates:,} duplicates, "
        f"{generated.late:,} late) in {len(paths)} files under {args.out} in {seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
