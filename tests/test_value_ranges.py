"""Hostile values -> rejected rows with their reason, never a failed build, on both engines.

One inbox of marketplace rows and one of event lines: good ones plus each value that
broke `dbt build` or vanished silently before the accepted ranges (dbt_project.yml
vars `accepted_ranges`): numbers too large for their type or for a sum, days far
outside the calendar the warehouse covers, money an event type needs that is missing
or not a number. One ingest and one build per engine; the good rows' totals in the
marts are computed here from the input, independently of the SQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import WAREHOUSES, query
from fx_reference import units_per_usd

from ingest.pipeline import ingest_event_files, ingest_marketplace_files
from orchestration.dbt_build import dbt_build

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
SALES_FILE = "GDN_SG_ranges.csv"
EVENTS_FILE = "events_ranges.jsonl"
COLUMNS = ["report_date", "seller_id", "sku_id", "units_sold", "gmv", "unit_price",
           "currency", "orders", "page_views", "discount"]  # fmt: skip

# the accepted ranges, restated from the specification (README "Value ranges")
MONEY = "1,000,000,000,000"
COUNT = "1,000,000,000"
BEFORE, AFTER = "is before 2000-01-01", "is after 2099-12-31"
DAYS = "(accepted: 2000-01-01 to 2099-12-31)"
EVENT_DAYS = "(accepted: 2000-01-01 to 2099-12-31, UTC days)"
KEY_TOTAL = "added up over the rows of this file with the same report_date, seller_id and sku_id"


def outside(name: str, bound: str, subject: str | None = None) -> str:
    return f"{subject or name} is outside the accepted range (|{name}| < {bound})"


def row(report_date="2026-11-01", seller="S1", sku="K1", units="1", gmv="10", **more) -> dict:
    return {"report_date": report_date, "seller_id": seller, "sku_id": sku,
            "units_sold": units, "gmv": gmv} | more  # fmt: skip


# (row, expected reason or None); rows are numbered from 2 (the header is row 1)
SALES_ROWS: list[tuple[dict, str | None]] = [
    (row(sku="K1", units="3", gmv="30.50", unit_price="10.1667", orders="2", page_views="40"),
     None),
    (row(sku="K1", units="2", gmv="20.25", discount="1.5"), None),  # adds up with the first
    (row(sku="K2", report_date="2026-11-02", units="-1", gmv="-9.99"), None),
    (row(sku="K3", units="7", gmv="700", currency="USD"), None),
    (row(sku="K4", units="5", gmv="999999999999.9999"), None),  # just inside
    (row(sku="K5", units="999999999", gmv="1"), None),  # just inside
    # 1. numbers that passed the old 14-digit pattern, then overflowed decimal(18, 4)
    (row(sku="H1", gmv="99999999999999.99999"), outside("gmv", MONEY)),
    (row(sku="H2", gmv="-99999999999999.99999"), outside("gmv", MONEY)),
    (row(sku="H3", unit_price="99999999999999.99999"), outside("unit_price", MONEY)),
    (row(sku="H4", discount="123456789012345678"), outside("discount", MONEY)),
    (row(sku="H5", gmv="1000000000000"), outside("gmv", MONEY)),
    # 2. a gmv whose USD value overflowed decimal(18, 6)
    (row(sku="H6", gmv="5000000000000", currency="USD"), outside("gmv", MONEY)),
    # 3. counts: too large to accept, or too large for bigint
    (row(sku="H7", units="999999999999999999"), outside("units_sold", COUNT)),
    (row(sku="H7", units="999999999999999999"), outside("units_sold", COUNT)),
    (row(sku="H8", orders="999999999999999999"), outside("orders", COUNT)),
    (row(sku="H9", page_views="99999999999999999999"), outside("page_views", COUNT)),
    # ... and rows that each fit but add up to too much for their key
    (row(sku="H10", units="600000000"), outside("units_sold", COUNT, f"units_sold {KEY_TOTAL}")),
    (row(sku="H10", units="600000000"), outside("units_sold", COUNT, f"units_sold {KEY_TOTAL}")),
    (row(sku="H11", gmv="600000000000"), outside("gmv", MONEY, f"gmv {KEY_TOTAL}")),
    (row(sku="H11", gmv="600000000000"), outside("gmv", MONEY, f"gmv {KEY_TOTAL}")),
    # a row rejected for its own value does not count in its key's total: K1 stays
    (row(sku="K1", units="999999999999999999"), outside("units_sold", COUNT)),
    # 4. days outside the calendar
    (row(sku="H12", report_date="1700-01-01"), f"report_date 1700-01-01 {BEFORE} {DAYS}"),
    (row(sku="H13", report_date="0001-01-01"), f"report_date 0001-01-01 {BEFORE} {DAYS}"),
    (row(sku="H14", report_date="2100-01-01"), f"report_date 2100-01-01 {AFTER} {DAYS}"),
    (row(sku="H15", report_date="0000-01-01"), "report_date is not a date (YYYY-MM-DD)"),
    (row(sku="H16", gmv="abc"), "gmv is not a decimal number"),
]  # fmt: skip

ENVELOPE = {"customer_id": "C1", "session_id": "S1", "country_code": "SG"}
AT = "2026-11-02T10:{:02d}:00+08:00"


def event(event_id: str, event_type: str, minute: int = 0, **fields) -> dict:
    base = {"event_id": event_id, "event_type": event_type, "occurred_at": AT.format(minute)}
    return base | ENVELOPE | fields


def order(number: int, total, paid: bool, lines: list[tuple[str, int, float]]) -> list[dict]:
    """A cart, its items, the order, its lines and (when paid) its payment."""
    cart, order_id = f"cart-{number}", f"order-{number}"
    events = [event(f"e{number}-cart", "CREATE_CART", cart_id=cart)]
    for index, (article, quantity, price) in enumerate(lines, start=1):
        events.append(event(f"e{number}-add{index}", "ADD_TO_CART", 1, cart_id=cart,
                            article_id=article, quantity=quantity, unit_price=price,
                            currency="SGD"))  # fmt: skip
    events.append(event(f"e{number}-sales", "SALES", 2, order_id=order_id, cart_id=cart,
                        total_amount=total, currency="SGD"))  # fmt: skip
    for index, (article, quantity, price) in enumerate(lines, start=1):
        events.append(event(f"e{number}-line{index}", "ORDER_DETAILS", 3, order_id=order_id,
                            line_number=index, article_id=article, quantity=quantity,
                            unit_price=price, currency="SGD"))  # fmt: skip
    if paid:
        payment = f"payment-{number}"
        events.append(event(f"e{number}-pay", "MAKE_PAYMENT", 4, payment_id=payment,
                            order_id=order_id, amount=total, currency="SGD",
                            payment_method="card", status="succeeded"))  # fmt: skip
        events.append(event(f"e{number}-done", "SUCCESS_SALE", 5, order_id=order_id,
                            cart_id=cart, payment_id=payment))  # fmt: skip
    return events


GOOD_EVENTS = (
    order(1, 25.0, True, [("A1", 2, 12.5)])
    + order(2, 40, False, [("A2", 1, 40)])
    + order(3, "7.25", True, [("A1", 1, 5), ("A3", 1, "2.25")])
)


def hostile(event_id: str, event_type: str, **fields) -> dict:
    ids = {"cart_id": "cart-x", "order_id": f"order-{event_id}", "article_id": "A1"}
    return event(event_id, event_type, 7, **(ids | fields))


ADD = {"quantity": 1, "unit_price": 1, "currency": "SGD"}
LINE = {"line_number": 1, "quantity": 1, "unit_price": 1, "currency": "SGD"}
NO_TOTAL = hostile("h-sales-absent", "SALES", currency="SGD")
EXPECTED_EVENT_REASONS: dict[str, str] = {}
HOSTILE_EVENTS: list[dict] = []


def expect(document: dict, reason: str) -> None:
    HOSTILE_EVENTS.append(document)
    EXPECTED_EVENT_REASONS[document["event_id"]] = reason


# 5. money a type needs: missing, JSON null or not a number; optional money not a number
expect(hostile("h-sales-abc", "SALES", total_amount="abc"), "SALES without a valid total_amount")
expect(hostile("h-sales-null", "SALES", total_amount=None), "SALES without a valid total_amount")
expect(NO_TOTAL, "SALES without a valid total_amount")
expect(hostile("h-add-null", "ADD_TO_CART", **(ADD | {"unit_price": None})),
       "ADD_TO_CART without a valid unit_price")  # fmt: skip
expect(hostile("h-line-abc", "ORDER_DETAILS", **(LINE | {"unit_price": "12,50"})),
       "ORDER_DETAILS without a valid unit_price")  # fmt: skip
expect(hostile("h-pay-abc", "MAKE_PAYMENT", payment_id="p-x", amount="abc", currency="SGD",
               payment_method="card", status="failed"),
       "MAKE_PAYMENT without a valid amount")  # fmt: skip
expect(hostile("h-remove-abc", "REMOVE_FROM_CART", quantity=1, unit_price="abc"),
       "unit_price is not a decimal number")  # fmt: skip
# 1. money too large (as JSON strings: the same text on every engine)
expect(hostile("h-sales-huge", "SALES", total_amount="99999999999999.99999"),
       outside("total_amount", MONEY))  # fmt: skip
expect(hostile("h-pay-huge", "MAKE_PAYMENT", payment_id="p-y", amount="5000000000000",
               currency="SGD", payment_method="card", status="failed"),
       outside("amount", MONEY))  # fmt: skip
expect(hostile("h-add-huge", "ADD_TO_CART", **(ADD | {"unit_price": "-99999999999999.99999"})),
       outside("unit_price", MONEY))  # fmt: skip
# 3. quantities too large, and an order line worth too much
expect(hostile("h-add-qty", "ADD_TO_CART", **(ADD | {"quantity": 999999999999999999})),
       outside("quantity", COUNT))  # fmt: skip
expect(hostile("h-line-qty", "ORDER_DETAILS", **(LINE | {"quantity": "12345678901234567890"})),
       outside("quantity", COUNT))  # fmt: skip
expect(hostile("h-line-value", "ORDER_DETAILS", **(LINE | {"quantity": 500000000,
                                                          "unit_price": 5000})),
       outside("quantity * unit_price", MONEY))  # fmt: skip
# 4. timestamps outside the calendar
expect(hostile("h-early", "DETAILS_VIEW") | {"occurred_at": "0001-01-01T00:00:00Z"},
       f"occurred_at 0001-01-01T00:00:00Z is before 2000-01-01 {EVENT_DAYS}")  # fmt: skip
expect(hostile("h-late", "DETAILS_VIEW") | {"occurred_at": "9999-12-31T23:59:59Z"},
       f"occurred_at 9999-12-31T23:59:59Z is after 2099-12-31 {EVENT_DAYS}")  # fmt: skip
# a JSON number too large: DuckDB reads it as a double (1e+14), PostgreSQL exactly
HUGE_NUMBER = hostile("h-add-number", "ADD_TO_CART", **ADD)
HUGE_NUMBER_LINE = json.dumps(HUGE_NUMBER).replace(
    '"unit_price": 1', '"unit_price": 99999999999999.99999'
)


def _write_inbox(folder: Path) -> tuple[Path, Path]:
    sales, events = folder / "sales", folder / "events"
    sales.mkdir()
    events.mkdir()
    with (sales / SALES_FILE).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for record, _ in SALES_ROWS:
            writer.writerow(record)
    lines = [json.dumps(document) for document in GOOD_EVENTS + HOSTILE_EVENTS]
    (events / EVENTS_FILE).write_text("\n".join([*lines, HUGE_NUMBER_LINE]) + "\n")
    return sales, events


@pytest.fixture(scope="module", params=list(WAREHOUSES))
def built(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"ranges_{request.param}")
    sales, events = _write_inbox(folder)
    with WAREHOUSES[request.param](folder):
        ingest_marketplace_files(str(sales), request.param, quiet=True)
        ingest_event_files(str(events), request.param, quiet=True)
        build = dbt_build(request.param, quiet=True, unit_tests=True)
        assert build.success, build.lines()
        yield request.param


def test_every_hostile_marketplace_row_is_rejected_with_its_reason(built):
    rows = query(
        built,
        "select file_name, source_row_number, rejection_reason "
        "from marts.marketplace_rejected_rows",
    )
    assert {name for name, _, _ in rows} == {SALES_FILE}
    expected = {number: reason for number, (_, reason) in enumerate(SALES_ROWS, 2) if reason}
    assert {number: reason for _, number, reason in rows} == expected


def test_good_marketplace_rows_add_up_in_sku_sales(built):
    totals: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for record, reason in SALES_ROWS:
        if reason is None:
            key = (record["report_date"], record["seller_id"], record["sku_id"])
            gmv = Decimal(record["gmv"])
            day = dt.date.fromisoformat(record["report_date"])
            rate = Decimal(units_per_usd(record.get("currency") or "SGD", day))
            totals[key][0] += int(record["units_sold"])
            totals[key][1] += gmv
            totals[key][2] += gmv / rate
    rows = query(
        built,
        "select cast(report_date as varchar), seller_id, sku_id, units_sold, gmv, gmv_usd "
        "from marts.sku_sales",
    )
    assert {r[:3] for r in rows} == set(totals)
    for date, seller, sku, units, gmv, gmv_usd in rows:
        expected_units, expected_gmv, expected_usd = totals[(date, seller, sku)]
        assert (units, Decimal(gmv)) == (expected_units, expected_gmv), sku
        # the cross rate is a quotient: exact to 1e-12 of the amount, even near 1e12
        assert Decimal(gmv_usd) == pytest.approx(
            expected_usd, rel=Decimal("1e-12"), abs=Decimal("0.0001")
        ), sku
    (units, gmv), *_ = query(built, "select sum(units_sold), sum(gmv) from marts.sku_sales")
    assert int(units) == sum(t[0] for t in totals.values())
    assert Decimal(gmv) == sum(t[1] for t in totals.values())


def test_every_hostile_event_is_rejected_with_its_reason(built):
    rows = dict(query(built, "select event_id, rejection_reason from marts.shop_rejected_events"))
    number = rows.pop(HUGE_NUMBER["event_id"])
    assert number in (outside("unit_price", MONEY), "ADD_TO_CART without a valid unit_price")
    assert rows == EXPECTED_EVENT_REASONS


def test_good_events_are_the_facts_and_their_totals(built):
    sales = [e for e in GOOD_EVENTS if e["event_type"] == "SALES"]
    paid = {e["order_id"] for e in GOOD_EVENTS if e["event_type"] == "SUCCESS_SALE"}
    lines = [e for e in GOOD_EVENTS if e["event_type"] == "ORDER_DETAILS"]
    payments = [e for e in GOOD_EVENTS if e["event_type"] == "MAKE_PAYMENT"]
    orders = query(built, "select order_id, total_amount, order_status from marts.fact_sales")
    assert {o: (Decimal(t), s) for o, t, s in orders} == {
        e["order_id"]: (Decimal(str(e["total_amount"])), "paid" if e["order_id"] in paid
                        else "pending")
        for e in sales
    }  # fmt: skip
    (revenue, placed, paid_count), *_ = query(
        built, "select sum(revenue), sum(orders_placed), sum(orders_paid) "
        "from marts.shop_daily_metrics"
    )  # fmt: skip
    assert Decimal(revenue) == sum(
        Decimal(str(e["total_amount"])) for e in sales if e["order_id"] in paid
    )
    assert (placed, paid_count) == (len(sales), len(paid))
    (line_count, line_amount), *_ = query(
        built, "select count(*), sum(line_amount) from marts.fact_order_details"
    )
    assert line_count == len(lines)
    assert Decimal(line_amount) == sum(e["quantity"] * Decimal(str(e["unit_price"])) for e in lines)
    (payment_count, amount), *_ = query(
        built, "select count(*), sum(amount) from marts.fact_payments"
    )
    assert (payment_count, Decimal(amount)) == (
        len(payments), sum(Decimal(str(e["amount"])) for e in payments)
    )  # fmt: skip


def test_the_calendar_spans_only_the_accepted_days(built):
    (first, last, days), *_ = query(
        built, "select cast(min(date_day) as varchar), cast(max(date_day) as varchar), "
        "count(*) from marts.dim_date"
    )  # fmt: skip
    assert (first, last, days) == ("2026-11-01", "2026-11-02", 2)
