"""The mock web-shop event generator (samples.events) against the events contract."""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from samples.events import EventConfig, generate_events, main, write_events
from samples.marketplace_files import SMALL_CATALOGUE, _catalogue

# The contract (events.md, v1), restated here so the test does not trust the generator.
ENVELOPE = {"event_id", "event_type", "occurred_at", "customer_id", "session_id", "country_code"}
TYPE_FIELDS = {
    "DETAILS_VIEW": {"article_id"},
    "CREATE_CART": {"cart_id"},
    "ADD_TO_CART": {"cart_id", "article_id", "quantity", "unit_price", "currency"},
    "REMOVE_FROM_CART": {"cart_id", "article_id", "quantity"},
    "SALES": {"order_id", "cart_id", "total_amount", "currency"},
    "ORDER_DETAILS": {
        "order_id",
        "line_number",
        "article_id",
        "quantity",
        "unit_price",
        "currency",
    },
    "MAKE_PAYMENT": {"payment_id", "order_id", "amount", "currency", "payment_method", "status"},
    "SUCCESS_SALE": {"order_id", "cart_id", "payment_id"},
}
OFFSETS = {"SG": "+08:00", "MY": "+08:00", "PH": "+08:00", "TH": "+07:00", "VN": "+07:00"}
OFFSETS["ID"] = "+07:00"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
MONEY = re.compile(r'"(unit_price|total_amount|amount)":(\d+(?:\.\d{2})?)[,}]')

CONFIG = EventConfig(customers=2000, days=7)
SMALL = EventConfig(customers=150, days=2)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    """All delivered events of CONFIG (~50k rows), with occurred_at parsed to UTC."""
    frame = generate_events(CONFIG).to_pandas()
    frame["occurred_utc"] = pd.to_datetime(frame["occurred_at"], format="ISO8601", utc=True)
    return frame


@pytest.fixture(scope="module")
def unique_events(events: pd.DataFrame) -> pd.DataFrame:
    """First delivery of every event."""
    return events.drop_duplicates("event_id")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_events(SMALL, tmp_path_factory.mktemp("events"), progress=False)


def of_type(frame: pd.DataFrame, event_type: str) -> pd.DataFrame:
    return frame[frame["event_type"] == event_type]


def read_lines(paths: list[Path]) -> list[str]:
    opener = {".gz": gzip.open}
    return [
        line
        for path in paths
        for line in opener.get(path.suffix, open)(path, "rt", encoding="utf-8")
    ]


# --------------------------------------------------------------------------- files


def test_same_config_gives_byte_identical_files(tmp_path: Path, written: list[Path]) -> None:
    again = write_events(SMALL, tmp_path, progress=False)
    assert [p.name for p in again] == [p.name for p in written]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(again, written, strict=True))


def test_files_are_hourly_and_named_in_delivery_order(written: list[Path]) -> None:
    names = [path.name for path in written]
    assert names == sorted(names)
    assert all(re.fullmatch(r"events_\d{4}-\d\d-\d\dT\d\d\.jsonl", name) for name in names)
    # Late deliveries land in files after the generated days.
    assert names[-1] > f"events_{(SMALL.start + timedelta(days=SMALL.days)):%Y-%m-%dT%H}"


def test_every_line_has_exactly_the_fields_of_its_type(written: list[Path]) -> None:
    for line in read_lines(written):
        event = json.loads(line)
        assert set(event) == ENVELOPE | TYPE_FIELDS[event["event_type"]], line
        assert all(value is not None for value in event.values()), line
        assert "delivered_at" not in event


def test_money_has_two_decimals_except_whole_currencies(written: list[Path]) -> None:
    seen = 0
    for line in read_lines(written):
        event = json.loads(line)
        for _, text in MONEY.findall(line):
            seen += 1
            whole = event["currency"] in ("IDR", "VND")
            assert ("." not in text) if whole else text[-3] == ".", line
        if "quantity" in event:
            assert isinstance(event["quantity"], int) and event["quantity"] >= 1
    assert seen > 0


def test_gzip_output_reads_back_as_the_same_lines(tmp_path: Path, written: list[Path]) -> None:
    zipped = write_events(SMALL, tmp_path, gzip=True, progress=False)
    assert [p.name for p in zipped] == [f"{p.name}.gz" for p in written]
    assert read_lines(zipped) == read_lines(written)


def test_files_option_splits_into_chunks_in_delivery_order(
    tmp_path: Path, written: list[Path]
) -> None:
    chunks = write_events(SMALL, tmp_path, files=3, progress=False)
    assert len(chunks) == 3
    assert [p.name for p in chunks] == sorted(p.name for p in chunks)
    assert read_lines(chunks) == read_lines(written)


def test_speed_smoke_and_progress_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    paths = write_events(EventConfig(customers=1000, days=7), tmp_path, progress=True)
    assert sum(1 for _ in read_lines(paths)) > 10_000
    assert f"wrote {len(paths)}/{len(paths)} files" in capsys.readouterr().err


def test_main_writes_files_and_prints_a_summary(tmp_path: Path, capsys) -> None:
    argv = ["--customers", "50", "--days", "1", "--out", str(tmp_path), "--gzip", "--quiet"]
    assert main(argv) == 0
    summary = capsys.readouterr().out
    assert re.search(r"[\d,]+ events \([\d,]+ duplicates, [\d,]+ late\)", summary)
    assert list(tmp_path.glob("events_*.jsonl.gz"))


# --------------------------------------------------------------------------- envelope and delivery


def test_occurred_at_is_rfc3339_with_the_country_offset(events: pd.DataFrame) -> None:
    assert events["occurred_at"].str.match(RFC3339).all()
    assert (events["occurred_at"].str[-6:] == events["country_code"].map(OFFSETS)).all()
    sample = events["occurred_at"].iloc[0]
    assert datetime.fromisoformat(sample).utcoffset() in (timedelta(hours=7), timedelta(hours=8))


def test_table_is_in_delivery_order_with_late_events_later(events: pd.DataFrame) -> None:
    assert events["delivered_at"].is_monotonic_increasing
    assert not events["occurred_utc"].is_monotonic_increasing
    assert (events["delivered_at"] >= events["occurred_utc"]).all()


def test_duplicate_share_is_near_the_configured_rate(events, unique_events) -> None:
    share = (len(events) - len(unique_events)) / len(unique_events)
    assert CONFIG.duplicate_rate * 0.5 <= share <= CONFIG.duplicate_rate * 1.5
    payload = [c for c in events.columns if c not in ("delivered_at", "occurred_utc")]
    copies = events[events["event_id"].duplicated(keep=False)]
    assert (copies.groupby("event_id")[payload].nunique(dropna=False) == 1).all().all()


def test_late_share_is_near_the_configured_rate(unique_events: pd.DataFrame) -> None:
    delay = unique_events["delivered_at"] - unique_events["occurred_utc"]
    late = (delay > pd.Timedelta(hours=1)).mean()
    assert CONFIG.late_rate * 0.5 <= late <= CONFIG.late_rate * 1.5
    assert delay.max() <= pd.Timedelta(hours=CONFIG.max_late_hours)
    assert delay[delay <= pd.Timedelta(hours=1)].median() < pd.Timedelta(minutes=1)


# --------------------------------------------------------------------------- shape


def test_views_are_skewed_to_a_few_popular_articles(unique_events: pd.DataFrame) -> None:
    views = of_type(unique_events, "DETAILS_VIEW")["article_id"].value_counts()
    top = math.ceil(0.05 * views.size)
    assert views.iloc[:top].sum() / views.sum() > 0.30


def test_articles_are_the_marketplace_sample_skus(unique_events: pd.DataFrame) -> None:
    skus = pd.concat(
        [_catalogue(m, CONFIG.catalogue_seed, SMALL_CATALOGUE).skus for m in CONFIG.marketplaces]
    )
    assert set(unique_events["article_id"].dropna()) <= set(skus["sku_id"])


def test_weekends_and_evenings_are_busier(unique_events: pd.DataFrame) -> None:
    local = unique_events["occurred_at"]
    per_day = pd.to_datetime(local.str[:10]).dt.day_of_week.value_counts()
    assert per_day[[5, 6]].mean() > 1.2 * per_day[[0, 1, 2, 3, 4]].mean()
    per_hour = local.str[11:13].astype(int).value_counts()
    assert per_hour[[19, 20, 21]].sum() > 5 * per_hour[[2, 3, 4]].sum()


def test_sessions_are_bursts_of_one_customer(unique_events: pd.DataFrame) -> None:
    sessions = unique_events.groupby("session_id")
    assert (sessions["customer_id"].nunique() == 1).all()
    span = sessions["occurred_utc"].max() - sessions["occurred_utc"].min()
    assert span.median() < pd.Timedelta(minutes=30)


def test_every_type_occurs(unique_events: pd.DataFrame) -> None:
    assert set(unique_events["event_type"]) == set(TYPE_FIELDS)


# --------------------------------------------------------------------------- orders


def test_cart_events_follow_views_and_cart_creation(unique_events: pd.DataFrame) -> None:
    created = of_type(unique_events, "CREATE_CART").set_index("cart_id")["occurred_utc"]
    adds = of_type(unique_events, "ADD_TO_CART")
    assert (adds["occurred_utc"].to_numpy() > created[adds["cart_id"]].to_numpy()).all()
    views = of_type(unique_events, "DETAILS_VIEW")
    first_view = views.groupby(["session_id", "article_id"])["occurred_utc"].min()
    viewed_at = first_view[pd.MultiIndex.from_frame(adds[["session_id", "article_id"]])]
    assert (viewed_at.to_numpy() < adds["occurred_utc"].to_numpy()).all()


def test_orders_contain_what_is_left_in_the_cart(unique_events: pd.DataFrame) -> None:
    key = ["cart_id", "article_id"]
    added = of_type(unique_events, "ADD_TO_CART").groupby(key)["quantity"].sum()
    removed = of_type(unique_events, "REMOVE_FROM_CART").groupby(key)["quantity"].sum()
    assert (removed <= added[removed.index]).all()
    left = added.sub(removed, fill_value=0)
    details = (
        of_type(unique_events, "ORDER_DETAILS")
        .drop(columns="cart_id")
        .merge(of_type(unique_events, "SALES")[["order_id", "cart_id"]], on="order_id")
    )
    ordered = details.set_index(key)["quantity"]
    assert (ordered == left[ordered.index]).all()
    assert len(details) == len(of_type(unique_events, "ORDER_DETAILS"))


def test_order_events_refer_to_an_existing_sale(unique_events: pd.DataFrame) -> None:
    sales = of_type(unique_events, "SALES")
    assert sales["order_id"].is_unique
    assert set(sales["cart_id"]) <= set(of_type(unique_events, "CREATE_CART")["cart_id"])
    sold_at = sales.set_index("order_id")["occurred_utc"]
    for event_type in ("ORDER_DETAILS", "MAKE_PAYMENT", "SUCCESS_SALE"):
        rows = of_type(unique_events, event_type)
        assert set(rows["order_id"]) <= set(sold_at.index), event_type
        assert (rows["occurred_utc"].to_numpy() > sold_at[rows["order_id"]].to_numpy()).all()


def test_sales_totals_match_their_lines(unique_events: pd.DataFrame) -> None:
    details = of_type(unique_events, "ORDER_DETAILS")
    line_total = (details["quantity"] * details["unit_price"]).groupby(details["order_id"]).sum()
    sales = of_type(unique_events, "SALES").set_index("order_id")
    assert ((sales["total_amount"] - line_total[sales.index]).abs() <= 0.01).all()
    numbers = details.groupby("order_id")["line_number"].agg(["min", "max", "count"])
    assert (numbers["min"] == 1).all() and (numbers["max"] == numbers["count"]).all()
    payments = of_type(unique_events, "MAKE_PAYMENT")
    expected = sales.loc[payments["order_id"], "total_amount"].to_numpy()
    assert (payments["amount"].to_numpy() == expected).all()
    assert (payments["currency"].to_numpy() == sales.loc[payments["order_id"], "currency"]).all()


def test_success_sale_only_after_a_succeeded_payment(unique_events: pd.DataFrame) -> None:
    payments = of_type(unique_events, "MAKE_PAYMENT").set_index("payment_id")
    success = of_type(unique_events, "SUCCESS_SALE")
    assert success["order_id"].is_unique
    paid_by = payments.loc[success["payment_id"]]
    assert (paid_by["status"] == "succeeded").all()
    assert (paid_by["order_id"].to_numpy() == success["order_id"].to_numpy()).all()
    assert (paid_by["occurred_utc"].to_numpy() < success["occurred_utc"].to_numpy()).all()
    sales = of_type(unique_events, "SALES").set_index("order_id")
    assert (sales.loc[success["order_id"], "cart_id"].to_numpy() == success["cart_id"]).all()


def test_payments_fail_sometimes_and_some_orders_stay_pending(unique_events) -> None:
    payments = of_type(unique_events, "MAKE_PAYMENT").sort_values("occurred_utc")
    first = payments.drop_duplicates("order_id")
    assert 0.05 < (first["status"] == "failed").mean() < 0.15
    assert set(payments["payment_method"]) == {"card", "paypal", "bank_transfer", "cod"}
    retried = payments["order_id"].duplicated()
    assert retried.any() and (payments.loc[retried, "status"] == "succeeded").all()
    orders = set(of_type(unique_events, "SALES")["order_id"])
    pending = orders - set(of_type(unique_events, "SUCCESS_SALE")["order_id"])
    assert 0 < len(pending) < 0.3 * len(orders)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="countries"):
        EventConfig(countries=("DE",))
    with pytest.raises(ValueError, match="timezone"):
        EventConfig(start=datetime(2026, 11, 1))
    assert EventConfig().start == datetime(2026, 10, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- up to now

NOW = datetime(2026, 12, 2, 13, 48, 31, tzinfo=UTC)
UNTIL_NOW = EventConfig.ending_at(NOW, days=3, customers=500)


def test_a_feed_ending_at_now_is_what_was_delivered_by_then() -> None:
    end = datetime(2026, 12, 2, 13, 48, tzinfo=UTC)  # to the minute
    assert (UNTIL_NOW.start, UNTIL_NOW.days, UNTIL_NOW.delivered_by) == (
        end - timedelta(days=3), 3, end,
    )  # fmt: skip
    seen = generate_events(UNTIL_NOW).to_pandas()
    occurred = pd.to_datetime(seen["occurred_at"], format="ISO8601", utc=True)
    assert occurred.max() <= end and seen["delivered_at"].max() <= end
    assert occurred.max() > end - timedelta(minutes=15)  # busy right up to the end

    # the whole feed's events less those delivered later: still in flight, late or not
    whole = generate_events(replace(UNTIL_NOW, delivered_by=None)).to_pandas()
    due = whole[whole["delivered_at"] <= end]
    assert list(seen["event_id"]) == list(due["event_id"])
    in_flight = whole[whole["delivered_at"] > end]
    in_flight_occurred = pd.to_datetime(in_flight["occurred_at"], format="ISO8601", utc=True)
    assert (in_flight_occurred < end).any() and (in_flight_occurred >= end).any()


def test_a_start_later_in_the_day_keeps_the_evenings_busy() -> None:
    local = generate_events(UNTIL_NOW).to_pandas().drop_duplicates("event_id")["occurred_at"]
    per_hour = local.str[11:13].astype(int).value_counts()
    assert per_hour[[19, 20, 21]].sum() > 5 * per_hour[[2, 3, 4]].sum()


def test_ending_at_needs_a_timezone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        EventConfig.ending_at(datetime(2026, 12, 2, 13, 48))
