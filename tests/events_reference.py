"""An independent model of the web-shop event contract, in plain Python and pandas.

The end-to-end event tests feed the same inbox to the warehouse and to this model
and compare the marts with what it computes. It shares no code with `ingest/` or
the dbt models: lines are read with the json module, and every rule is written
again from the product specification (validation, first-delivery-wins
deduplication, the facts, the cart dimension and the daily metrics).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
from fx_reference import units_per_usd

REQUIRED_ENVELOPE = ("event_id", "event_type", "occurred_at", "customer_id", "session_id")
NEEDS = {
    "article_id": {"DETAILS_VIEW", "ADD_TO_CART", "REMOVE_FROM_CART", "ORDER_DETAILS"},
    "cart_id": {"CREATE_CART", "ADD_TO_CART", "REMOVE_FROM_CART", "SALES"},
    "order_id": {"SALES", "ORDER_DETAILS", "MAKE_PAYMENT", "SUCCESS_SALE"},
    "payment_id": {"MAKE_PAYMENT"},
}
NEEDS_QUANTITY = {"ADD_TO_CART", "REMOVE_FROM_CART", "ORDER_DETAILS"}
CART_ACTIVITY = ("ADD_TO_CART", "REMOVE_FROM_CART")
CART_ADD_OR_LINE = ("ADD_TO_CART", "ORDER_DETAILS")
ORDER_EVENTS = ("SALES", "ORDER_DETAILS", "MAKE_PAYMENT", "SUCCESS_SALE")
ABANDONED_AFTER = pd.Timedelta(hours=24)

RFC3339 = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,6}))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))$"
)
WHOLE = re.compile(r"^[+-]?0*[0-9]{1,18}$")
NUMBER = re.compile(r"^[+-]?0*([0-9]{1,13}(\.[0-9]*)?|\.[0-9]+)$")
# accepted ranges (README "Value ranges"); tests/test_value_ranges.py has each case
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
MAX_MONEY, MAX_COUNT = Decimal(10**12), 10**9
NEEDS_MONEY = {
    "unit_price": {"ADD_TO_CART", "ORDER_DETAILS"},
    "total_amount": {"SALES"},
    "amount": {"MAKE_PAYMENT"},
}

EVENT_COLUMNS = [
    "event_id", "event_type", "occurred_at", "customer_id", "session_id", "country_code",
    "article_id", "cart_id", "order_id", "payment_id", "line_number", "quantity",
    "unit_price", "total_amount", "amount", "currency_code", "payment_method", "status",
    "batch", "file_name", "source_line",
]  # fmt: skip


def utc_timestamp(text: str) -> dt.datetime | None:
    """An RFC 3339 timestamp with offset as a naive UTC datetime; None when it is not one."""
    match = RFC3339.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, zulu, sign, offset_hours, offset_minutes = match.groups()[6:]
    try:
        local = dt.datetime(
            year, month, day, hour, minute, second, int((fraction or "0").ljust(6, "0"))
        )
    except ValueError:  # not a real calendar date or time of day
        return None
    if zulu:
        return local
    if int(offset_hours) > 23 or int(offset_minutes) > 59:
        return None
    offset = dt.timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
    return local - offset if sign == "+" else local + offset


def _as_text(value: object) -> str | None:
    """A JSON value as text: strings as they are, anything else as its JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, default=str)


def _trimmed(value: object) -> str | None:
    text = _as_text(value)
    return text.strip() or None if text is not None else None


def _whole(value: object) -> int | None:
    text = _as_text(value)
    return int(text) if text is not None and WHOLE.match(text) else None


def _money(value: object) -> Decimal | None:
    text = _as_text(value)
    return Decimal(text) if text is not None and NUMBER.match(text) else None


def _lower(value: object) -> str | None:
    text = _as_text(value)
    return text.lower() if text is not None else None


def read_lines(path: Path) -> list[tuple[int, str | None]]:
    """(line number, text) of every line of a JSON Lines file; None for undecodable text."""
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        data = gzip.decompress(data)
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    lines = []
    for number, piece in enumerate(pieces, start=1):
        try:
            lines.append((number, piece.decode("utf-8").rstrip("\r")))
        except UnicodeDecodeError:
            lines.append((number, None))
    return lines


def _not_json(constant: str) -> None:
    """NaN and Infinity are not JSON (RFC 8259), though Python's json module reads them."""
    raise ValueError(f"{constant} is not a JSON value")


def check_line(text: str | None) -> tuple[dict | None, str | None]:
    """(typed event, None) for an accepted line, (None, reason) for a rejected one."""
    if text is None:
        return None, "not UTF-8"
    try:
        document = json.loads(text, parse_float=Decimal, parse_constant=_not_json)
    except ValueError:
        return None, "not JSON"
    if not isinstance(document, dict):
        return None, "not a JSON object"
    envelope = {name: _trimmed(document.get(name)) for name in REQUIRED_ENVELOPE}
    missing = [name for name, value in envelope.items() if value is None]
    if missing:
        return None, f"missing {missing}"
    occurred_at = utc_timestamp(envelope["occurred_at"])
    if occurred_at is None:
        return None, "occurred_at is not RFC 3339 with an offset"
    event_type = envelope["event_type"].upper()
    for field, types in NEEDS.items():
        if event_type in types and document.get(field) is None:
            return None, f"{event_type} without {field}"
    if not FIRST_DAY <= occurred_at.date() <= LAST_DAY:
        return None, "occurred_at is outside the accepted range"
    quantity = _whole(document.get("quantity"))
    if event_type in NEEDS_QUANTITY and (quantity is None or quantity <= 0):
        return None, f"{event_type} without a positive whole quantity"
    if document.get("quantity") is not None and (quantity is None or abs(quantity) >= MAX_COUNT):
        return None, "quantity is not a whole number in the accepted range"
    for field, types in NEEDS_MONEY.items():
        value = _money(document.get(field))
        if event_type in types and value is None:
            return None, f"{event_type} without a valid {field}"
        if document.get(field) is not None and (value is None or abs(value) >= MAX_MONEY):
            return None, f"{field} is not a decimal number in the accepted range"
    line_value = _multiply(quantity, _money(document.get("unit_price")))
    if line_value is not None and abs(line_value) >= MAX_MONEY and event_type in CART_ADD_OR_LINE:
        return None, "quantity * unit_price is outside the accepted range"
    country = _trimmed(document.get("country_code"))
    currency = _as_text(document.get("currency"))
    return {
        "event_id": envelope["event_id"],
        "event_type": event_type,
        "occurred_at": occurred_at,
        "customer_id": envelope["customer_id"],
        "session_id": envelope["session_id"],
        "country_code": country.upper() if country else None,
        "article_id": _as_text(document.get("article_id")),
        "cart_id": _as_text(document.get("cart_id")),
        "order_id": _as_text(document.get("order_id")),
        "payment_id": _as_text(document.get("payment_id")),
        "line_number": _whole(document.get("line_number")),
        "quantity": quantity,
        "unit_price": _money(document.get("unit_price")),
        "total_amount": _money(document.get("total_amount")),
        "amount": _money(document.get("amount")),
        "currency_code": currency.upper() if currency is not None else None,
        "payment_method": _lower(document.get("payment_method")),
        "status": _lower(document.get("status")),
    }, None


def _first(frame: pd.DataFrame, by: list[str], order: list[str]) -> pd.DataFrame:
    """Per `by`, the first row in `order`."""
    return frame.sort_values(order, kind="stable").drop_duplicates(by, keep="first")


def _multiply(quantity: object, price: object) -> Decimal | None:
    if quantity is None or price is None or pd.isna(quantity) or pd.isna(price):
        return None
    return Decimal(int(quantity)) * price


class EventsExpected:
    """What the warehouse must hold after ingesting the batches given to `add_batch`."""

    def __init__(self) -> None:
        self.batches = 0
        self.loaded_hashes: set[str] = set()
        self.loaded_files: list[tuple[int, str]] = []  # (batch, file name)
        self.accepted: list[dict] = []  # every accepted line, duplicates included
        self.rejected: dict[tuple[str, int], str] = {}  # (file, line) -> reason
        self.not_objects: set[tuple[str, int]] = set()  # lines that are not a JSON object
        self.non_blank: dict[str, list[tuple[int, str]]] = {}  # file -> (line, text)

    # ------------------------------------------------------------------ reading

    def add_batch(self, inbox: Path) -> list[str]:
        """Account for one ingest run over the inbox (call it before the run): files in
        name order, each distinct content once. Returns the names of the files it reads."""
        self.batches += 1
        names = []
        for path in sorted(p for p in Path(inbox).iterdir() if p.is_file()):
            if not re.match(r"^.+\.jsonl(\.gz)?$", path.name, re.IGNORECASE):
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in self.loaded_hashes:
                continue
            lines = [(n, t) for n, t in read_lines(path) if t is None or t.strip()]
            if not lines:
                continue  # an empty file lands nothing
            self.loaded_hashes.add(digest)
            self.loaded_files.append((self.batches, path.name))
            self.non_blank[path.name] = lines
            names.append(path.name)
            for number, text in lines:
                event, reason = check_line(text)
                if event is None:
                    self.rejected[(path.name, number)] = reason
                    if reason.startswith("not"):
                        self.not_objects.add((path.name, number))
                    continue
                event |= {"batch": self.batches, "file_name": path.name, "source_line": number}
                self.accepted.append(event)
        return names

    # ------------------------------------------------------------------ events

    def deliveries(self) -> pd.DataFrame:
        """Every accepted line in delivery order (duplicates included)."""
        frame = pd.DataFrame(
            {
                column: pd.Series([event[column] for event in self.accepted], dtype=object)
                for column in EVENT_COLUMNS
            }
        )  # object columns: whole numbers stay int and money Decimal, None stays None
        frame["occurred_at"] = pd.to_datetime(frame["occurred_at"])
        return frame.sort_values(["batch", "file_name", "source_line"], kind="stable")

    def events(self) -> pd.DataFrame:
        """Accepted events, each event_id once: its first delivery wins."""
        return self.deliveries().drop_duplicates("event_id", keep="first").reset_index(drop=True)

    def newest_event_at(self) -> pd.Timestamp:
        return self.events()["occurred_at"].max()

    # ------------------------------------------------------------------ facts

    def cart_activity(self) -> pd.DataFrame:
        events = self.events()
        activity = events[events["event_type"].isin(CART_ACTIVITY)].copy()
        adds = activity[activity["event_type"] == "ADD_TO_CART"]
        latest = (
            adds.sort_values(["occurred_at", "event_id"], kind="stable")
            .drop_duplicates(["cart_id", "article_id"], keep="last")[
                ["cart_id", "article_id", "unit_price"]
            ]
            .rename(columns={"unit_price": "latest_add_price"})
        )
        activity = activity.merge(latest, on=["cart_id", "article_id"], how="left")
        is_add = activity["event_type"] == "ADD_TO_CART"
        activity["activity_type"] = is_add.map({True: "add", False: "remove"})
        activity["quantity_change"] = [
            int(q) if add else -int(q) for q, add in zip(activity["quantity"], is_add, strict=True)
        ]
        activity["unit_price"] = [
            own if add else (None if pd.isna(latest) else latest)
            for own, latest, add in zip(
                activity["unit_price"], activity["latest_add_price"], is_add, strict=True
            )
        ]
        activity["value_change"] = [
            _multiply(q, p)
            for q, p in zip(activity["quantity_change"], activity["unit_price"], strict=True)
        ]
        columns = ["event_id", "cart_id", "customer_id", "article_id", "country_code"]
        columns += ["occurred_at", "activity_type", "quantity_change", "unit_price"]
        return activity[columns + ["value_change"]].reset_index(drop=True)

    def sales(self) -> pd.DataFrame:
        events = self.events()
        order_events = events[events["event_type"].isin(ORDER_EVENTS)]
        by_time = ["occurred_at", "event_id"]
        orders = pd.DataFrame({"order_id": sorted(order_events["order_id"].unique())})
        placements = _first(
            order_events[order_events["event_type"] == "SALES"], ["order_id"], by_time
        )
        placements = placements[
            ["order_id", "occurred_at", "cart_id", "customer_id", "country_code"]
            + ["total_amount", "currency_code"]
        ].rename(columns={"occurred_at": "placed_at"})
        completions = _first(
            order_events[order_events["event_type"] == "SUCCESS_SALE"], ["order_id"], by_time
        )[["order_id", "occurred_at"]].rename(columns={"occurred_at": "paid_at"})
        payments = order_events[order_events["event_type"] == "MAKE_PAYMENT"]
        attempts = payments.groupby("order_id").size().rename("payment_attempts")
        failed = payments[payments["status"] == "failed"].groupby("order_id").size()
        lines = order_events[order_events["event_type"] == "ORDER_DETAILS"].groupby("order_id")
        sales = (
            orders.merge(placements, on="order_id", how="left")
            .merge(completions, on="order_id", how="left")
            .set_index("order_id")
        )
        sales["order_status"] = sales["paid_at"].notna().map({True: "paid", False: "pending"})
        sales["payment_attempts"] = attempts.reindex(sales.index, fill_value=0)
        sales["failed_payment_attempts"] = failed.reindex(sales.index, fill_value=0)
        sales["order_line_count"] = lines.size().reindex(sales.index, fill_value=0)
        return sales.reset_index().astype({"total_amount": object})

    def order_details(self) -> pd.DataFrame:
        events = self.events()
        lines = _first(
            events[events["event_type"] == "ORDER_DETAILS"],
            ["order_id", "line_number"],
            ["occurred_at", "event_id"],
        ).copy()
        lines["line_amount"] = [
            _multiply(q, p) for q, p in zip(lines["quantity"], lines["unit_price"], strict=True)
        ]
        columns = ["order_id", "line_number", "event_id", "article_id", "occurred_at"]
        return lines[columns + ["quantity", "unit_price", "line_amount"]].reset_index(drop=True)

    def payments(self) -> pd.DataFrame:
        events = self.events()
        attempts = events[events["event_type"] == "MAKE_PAYMENT"].sort_values(
            ["order_id", "occurred_at", "payment_id", "event_id"], kind="stable"
        )
        attempts = attempts.assign(attempt_number=attempts.groupby("order_id").cumcount() + 1)
        attempts = _first(attempts, ["payment_id"], ["occurred_at", "event_id"])
        attempts = attempts.rename(
            columns={"occurred_at": "attempted_at", "status": "payment_status"}
        )
        columns = ["payment_id", "order_id", "event_id", "attempted_at", "attempt_number"]
        return attempts[columns + ["amount", "payment_status"]].reset_index(drop=True)

    # ------------------------------------------------------------------ dimensions

    def carts(self) -> pd.DataFrame:
        events = self.events()
        cart_events = events[events["cart_id"].notna()]
        creation = cart_events.assign(
            not_creation=(cart_events["event_type"] != "CREATE_CART").astype(int)
        )
        carts = _first(creation, ["cart_id"], ["not_creation", "occurred_at", "event_id"])
        carts = carts[["cart_id", "customer_id", "country_code", "occurred_at"]].rename(
            columns={"occurred_at": "created_at"}
        )
        carts = carts.set_index("cart_id")
        last_activity = cart_events.groupby("cart_id")["occurred_at"].max()

        activity = self.cart_activity()
        change = activity["quantity_change"].astype(int)
        added = change.clip(lower=0).groupby(activity["cart_id"]).sum()
        removed = (-change).clip(lower=0).groupby(activity["cart_id"]).sum()
        carts["items_added"] = added.reindex(carts.index, fill_value=0).astype(int)
        carts["items_removed"] = removed.reindex(carts.index, fill_value=0).astype(int)

        sales = self.sales()
        placed = sales[sales["placed_at"].notna()]
        checkouts = _first(placed, ["cart_id"], ["placed_at", "order_id"]).set_index("cart_id")
        items = self.order_details().groupby("order_id")["quantity"].sum()
        carts["order_id"] = checkouts["order_id"].reindex(carts.index)
        carts["value_at_checkout"] = checkouts["total_amount"].reindex(carts.index)
        carts["items_at_checkout"] = [
            None if pd.isna(order) or order not in items.index else int(items[order])
            for order in carts["order_id"]
        ]
        idle_since = self.newest_event_at() - ABANDONED_AFTER
        carts["cart_status"] = [
            "converted"
            if not pd.isna(order)
            else "abandoned"
            if last_activity[cart] < idle_since
            else "open"
            for cart, order in zip(carts.index, carts["order_id"], strict=True)
        ]
        carts["order_id"] = carts["order_id"].astype(object).where(carts["order_id"].notna(), None)
        return carts.reset_index()

    def customers(self) -> set[str]:
        return set(self.events()["customer_id"])

    def products(self) -> set[str]:
        return set(self.events()["article_id"].dropna())

    # ------------------------------------------------------------------ metrics

    def daily_metrics(self) -> pd.DataFrame:
        carts = self.carts()
        carts = carts.assign(
            metric_date=carts["created_at"].dt.date,
            country_code=carts["country_code"].fillna("unknown"),
            converted=(carts["cart_status"] == "converted").astype(int),
        )
        cart_days = carts.groupby(["metric_date", "country_code"]).agg(
            carts_created=("cart_id", "size"), carts_converted=("converted", "sum")
        )
        sales = self.sales()
        placed = sales[sales["placed_at"].notna()]
        placed = placed.assign(
            metric_date=placed["placed_at"].dt.date,
            country_code=placed["country_code"].fillna("unknown"),
            paid=(placed["order_status"] == "paid").astype(int),
            paid_amount=[
                amount if status == "paid" and amount is not None else Decimal(0)
                for amount, status in zip(
                    placed["total_amount"], placed["order_status"], strict=True
                )
            ],
        )
        placed = placed.assign(paid_usd=[_usd(row) for row in placed.to_dict("records")])
        order_days = placed.groupby(["metric_date", "country_code"]).agg(
            orders_placed=("order_id", "size"),
            orders_paid=("paid", "sum"),
            revenue=("paid_amount", lambda amounts: sum(amounts, Decimal(0))),
            # one paid order without a rate makes the day's USD unknown: no partial sum
            revenue_usd=("paid_usd", lambda usd: usd.sum(skipna=False)),
        )
        metrics = cart_days.join(order_days, how="outer")
        for column in ("carts_created", "carts_converted", "orders_placed", "orders_paid"):
            metrics[column] = metrics[column].fillna(0).astype(int)
        metrics["revenue"] = [
            Decimal(0) if pd.isna(value) else value for value in metrics["revenue"]
        ]
        metrics["revenue_usd"] = [
            0.0 if not paid else None if pd.isna(usd) else usd
            for paid, usd in zip(metrics["orders_paid"], metrics["revenue_usd"], strict=True)
        ]
        metrics["cart_conversion_rate"] = [
            converted / created if created else None
            for converted, created in zip(
                metrics["carts_converted"], metrics["carts_created"], strict=True
            )
        ]
        metrics["payment_completion_rate"] = [
            paid / placed if placed else None
            for paid, placed in zip(metrics["orders_paid"], metrics["orders_placed"], strict=True)
        ]
        return metrics.reset_index()

    # ------------------------------------------------------------------ delivery facts

    def late_events(self, batch: int) -> pd.DataFrame:
        """Events first delivered in `batch` that occurred before the newest event of the
        previous batches, on a day those batches already had events for: the builds
        of the earlier batches have already counted that day."""
        events = self.events()
        earlier = events[events["batch"] < batch]
        if earlier.empty:
            return events.iloc[0:0]
        late = (
            (events["batch"] == batch)
            & (events["occurred_at"] < earlier["occurred_at"].max())
            & events["occurred_at"].dt.date.isin(set(earlier["occurred_at"].dt.date))
        )
        return events[late].reset_index(drop=True)


def _usd(order: dict) -> float:
    """A paid order's total in USD with the rate of its currency on its day: 0 when
    not paid, NaN when there is no rate."""
    if order["order_status"] != "paid" or order["total_amount"] is None:
        return 0.0
    rate = units_per_usd(order["currency_code"], order["placed_at"].date())
    return float(order["total_amount"]) / rate if rate else float("nan")
