"""Article attention marts (4-hour windows, top 100, trailing 4 hours) vs. a pandas model.

Events -> dlt -> raw -> dbt, in two ingest + incremental build rounds as in production:
the first ~70 % of the generated delivery files, then the rest together with hand-made
files: ties in the busiest window, events on the edges of a trailing window, and events
two days after the generated data (so that empty windows lie in between). Every number
expected here comes from tests/attention_reference.py over the same accepted,
deduplicated events that tests/events_reference.py reads from the same files.
"""

from __future__ import annotations

import copy
import datetime as dt
import gc
import json
import shutil
import time
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import attention_reference as ref
import pandas as pd
import pytest
from conftest import WAREHOUSES, comparable_rows, query
from events_reference import EventsExpected

from ingest.pipeline import ingest_event_files
from orchestration.attention import trailing_attention
from orchestration.cli import main as cli_main
from orchestration.dbt_build import dbt_build
from samples.events import EventConfig, write_events

# the large catalogue gives windows with more than 100 articles: the top-100 cut matters
CONFIG = EventConfig(customers=400, days=3, large_catalogue=True)
FIRST_BATCH_SHARE = 0.7
TIES_FILE = "manual_attention_ties.jsonl"
EDGES_FILE = "manual_attention_trailing_edges.jsonl"
GAP_FILE = "manual_attention_after_a_gap.jsonl"
LATE_FILE = "manual_attention_late_same_minute.jsonl"
GAP = dt.timedelta(days=2)
FOUR_HOURS = dt.timedelta(hours=4)
# the attention marts and their parents only; tests that also read other marts are left out
CAUTIOUS = ["--indirect-selection", "cautious"]
BUILD = [
    "--select", "+high_attention_articles", "+attention_counter", "+attention_trailing_4h",
    *CAUTIOUS,
]  # fmt: skip
TOP = 10

COUNTS = ["details_view_count", "transaction_item_count"]
WINDOW_COLUMNS = ["article_id", "window_start", "window_end", *COUNTS]
COUNTER_COLUMNS = ["window_start", "window_end", *COUNTS]
HIGH_COLUMNS = ["window_start", "attention_rank", "window_end", "article_id", *COUNTS]
HIGH_COLUMNS += ["views_to_purchase_ratio"]
TRAILING_COLUMNS = ["attention_rank", "window_start", "window_end", "article_id", *COUNTS]

ATTENTION_MARTS = {
    "marts.attention_article_minute": "article_id, minute_start",
    "marts.attention_article_window": "article_id, window_start",
    "marts.attention_counter": "window_start",
    "marts.high_attention_articles": "window_start, attention_rank",
}


# --------------------------------------------------------------------------- hand-made files


def _rfc3339(moment: dt.datetime, offset_minutes: int = 0) -> str:
    """A naive UTC moment as RFC 3339 text (microseconds) in the given offset."""
    local = pd.Timestamp(moment).to_pydatetime() + dt.timedelta(minutes=offset_minutes)
    if offset_minutes == 0:
        return f"{local:%Y-%m-%dT%H:%M:%S.%f}Z"
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{local:%Y-%m-%dT%H:%M:%S.%f}{sign}{hours:02d}:{minutes:02d}"


def _utc(moment: dt.datetime) -> dt.datetime:
    """Naive UTC; a naive moment already is."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


class _Lines:
    """Hand-made event lines with unique ids (unless one is given)."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.number, self.lines = prefix, 0, []

    def add(self, kind: str, article: str, moment: dt.datetime, offset: int = 0, **extra) -> str:
        self.number += 1
        event_id = extra.pop("event_id", f"{self.prefix}-{self.number:04d}")
        document = {
            "event_id": event_id,
            "event_type": kind,
            "occurred_at": _rfc3339(moment, offset),
            "customer_id": "C_ATTENTION",
            "session_id": f"{self.prefix}-session",
            "country_code": "SG",
            "article_id": article,
        }
        if kind.strip().upper() == "ORDER_DETAILS":
            document |= {
                "order_id": f"{self.prefix}-order-{self.number:04d}",
                "line_number": 1,
                "quantity": 1,
                "unit_price": 9.5,
                "currency": "SGD",
            }
        document |= extra
        self.lines.append(json.dumps(document))
        return self.lines[-1]

    def write(self, path: Path) -> Path:
        path.write_text("".join(f"{line}\n" for line in self.lines))
        return path


def _spread(start: dt.datetime, count: int, span: dt.timedelta = FOUR_HOURS) -> list[dt.datetime]:
    """`count` moments spread over [start, start + span)."""
    return [start + span * (i + 0.5) / count for i in range(count)]


def _write_ties(window: pd.Timestamp, top_views: int, folder: Path) -> Path:
    """In `window`, four articles with more views than any other, all equal: ranked by
    order lines (2, 1, 1, 0), the two with one line by article id; ids in the opposite
    order, so that the id alone would rank them wrongly. Plus one article with order
    lines only, a duplicate delivery, a re-used event_id, a rejected line, a lowercase
    type, and events exactly on both window boundaries."""
    start = window.to_pydatetime()
    views = top_views + 3
    lines = _Lines("manual-attention-tie")
    plan = {"TIE-000004": 2, "TIE-000002": 1, "TIE-000003": 1, "TIE-000001": 0}
    extra_views = {"TIE-000002": 1, "TIE-000003": 1}  # the duplicate, the lowercase type
    for article, order_lines in plan.items():
        moments = _spread(start, views - extra_views.get(article, 0))
        moments[0] = start  # the first moment of the window belongs to it
        for i, moment in enumerate(moments):
            lines.add("DETAILS_VIEW", article, moment, [0, 420, -330, 480][i % 4])
        for moment in _spread(start + dt.timedelta(minutes=7), order_lines):
            lines.add("ORDER_DETAILS", article, moment, 420)
    for moment in _spread(start, 2):
        lines.add("ORDER_DETAILS", "TIE-000005", moment)
    duplicate = lines.add("DETAILS_VIEW", "TIE-000002", start + FOUR_HOURS / 3, 480)
    lines.lines.append(duplicate)  # the same event delivered twice: counted once
    # the same event_id again for another article: the first delivery wins
    reused = json.loads(duplicate)
    lines.add("DETAILS_VIEW", "TIE-000001", start + FOUR_HOURS / 2, event_id=reused["event_id"])
    lines.add(" details_view ", "TIE-000003", start + FOUR_HOURS / 5)  # a valid lowercase type
    lines.add("WISHLIST_ADD", "TIE-000001", start + FOUR_HOURS / 6)  # an unknown type: no view
    rejected = json.loads(lines.add("DETAILS_VIEW", "TIE-000003", start + FOUR_HOURS / 4))
    del rejected["customer_id"]
    lines.lines[-1] = json.dumps(rejected)
    last = start + FOUR_HOURS - dt.timedelta(microseconds=1)
    lines.add("DETAILS_VIEW", "TIE-000006", last, -330)  # still in the window
    lines.add("DETAILS_VIEW", "TIE-000006", start + FOUR_HOURS, 420)  # the next window
    return lines.write(folder / TIES_FILE)


def _write_edges(as_of: dict[str, dt.datetime], folder: Path) -> Path:
    """Events on the edges of trailing windows: t - 4h is in, t (the minute) is out."""
    lines = _Lines("manual-attention-edge")
    for number, moment in enumerate(as_of.values(), start=1):
        utc = _utc(moment)
        end = utc.replace(second=0, microsecond=0)
        article = f"EDGE-{number:06d}"
        lines.add("DETAILS_VIEW", article, end - FOUR_HOURS, 420)  # in
        lines.add("DETAILS_VIEW", article, end - FOUR_HOURS - dt.timedelta(milliseconds=1))
        lines.add("DETAILS_VIEW", article, end - dt.timedelta(microseconds=1), -330)  # in
        lines.add("DETAILS_VIEW", article, end, 480)  # out
        lines.add("DETAILS_VIEW", article, utc)  # out (unless t is on the minute)
        lines.add("ORDER_DETAILS", article, end - dt.timedelta(hours=2), 420)  # in
    return lines.write(folder / EDGES_FILE)


def _write_gap(last_window: pd.Timestamp, known_article: str, folder: Path) -> Path:
    """A few events two days and some hours after the last generated window."""
    moment = last_window.to_pydatetime() + GAP + dt.timedelta(hours=5, minutes=23)
    lines = _Lines("manual-attention-gap")
    for minutes in (0, 1, 2):
        lines.add("DETAILS_VIEW", known_article, moment + dt.timedelta(minutes=minutes), 420)
    lines.add("DETAILS_VIEW", "GAP-000001", moment, 480)
    lines.add("ORDER_DETAILS", "GAP-000001", moment + dt.timedelta(minutes=9))
    lines.add("ORDER_DETAILS", "GAP-000002", moment + dt.timedelta(minutes=11), 480)  # no views
    # views per order line that round (2 / 3 = 0.666667) rather than truncate
    for article, views in (("GAP-000003", 2), ("GAP-000004", 10)):
        for i in range(views):
            lines.add("DETAILS_VIEW", article, moment + dt.timedelta(minutes=20, seconds=i))
        for i in range(3):
            lines.add("ORDER_DETAILS", article, moment + dt.timedelta(minutes=30, seconds=i))
    return lines.write(folder / GAP_FILE)


def _write_same_minute(first_batch: EventsExpected, folder: Path) -> Path:
    """Late events for (article, minute) pairs the first build already counted."""
    events = ref.attention_events(first_batch.events())
    lines = _Lines("manual-attention-late")
    for kind, flag in (("DETAILS_VIEW", "is_view"), ("ORDER_DETAILS", "is_line")):
        earliest = events[events[flag] == 1].sort_values(["occurred_at", "event_id"]).iloc[0]
        minute = earliest["occurred_at"].floor("min").to_pydatetime()
        for seconds in (0, 59.999999):
            lines.add(kind, earliest["article_id"], minute + dt.timedelta(seconds=seconds), 420)
    return lines.write(folder / LATE_FILE)


# --------------------------------------------------------------------------- the warehouse


def _as_of_times() -> dict[str, dt.datetime]:
    """Inside the generated days: not on a minute; given in +08:00 (the local date is the
    next day); given in -05:30 with a fraction of a second. The first is naive (UTC)."""
    start = CONFIG.start.astimezone(dt.UTC).replace(tzinfo=None)
    return {
        "utc_with_seconds": start + dt.timedelta(days=1, hours=14, minutes=30, seconds=45),
        "plus_0800": (start + dt.timedelta(days=1, hours=18, minutes=41))
        .replace(tzinfo=dt.UTC)
        .astimezone(dt.timezone(dt.timedelta(hours=8))),
        "minus_0530": (start + dt.timedelta(days=2, hours=9, minutes=15, seconds=30.25))
        .replace(tzinfo=dt.UTC)
        .astimezone(dt.timezone(-dt.timedelta(hours=5, minutes=30))),
    }


AS_OF = _as_of_times()


@dataclass
class Built:
    target: str
    expected: EventsExpected  # after both batches
    expected_first: EventsExpected  # after the first batch only
    busiest_window: pd.Timestamp
    last_generated_window: pd.Timestamp
    first_batch_last_window: pd.Timestamp
    counter_after_first: list[tuple]
    windows_after_first: list[tuple]
    seconds: float


def _select(target: str, table: str, columns: list[str]) -> list[tuple]:
    return query(target, f"select {', '.join(columns)} from {table}")  # noqa: S608


@pytest.fixture(scope="module", params=list(WAREHOUSES))
def built(request, tmp_path_factory):
    """Two ingest + incremental build rounds of the attention marts and their parents."""
    began = time.perf_counter()
    target = request.param
    folder = tmp_path_factory.mktemp(f"attention_{target}")
    generated, extra, inbox = folder / "generated", folder / "extra", folder / "inbox"
    extra.mkdir()
    inbox.mkdir()
    paths = sorted(write_events(CONFIG, generated, progress=False))
    everything = EventsExpected()
    everything.add_batch(generated)
    windows = ref.article_windows(everything.events())
    views = windows.groupby("window_start")["details_view_count"]
    busiest = views.sum().idxmax()
    top_views = int(views.max()[busiest])
    last_window = windows["window_start"].max()
    known_article = windows.sort_values("article_id")["article_id"].iloc[0]

    cut = round(len(paths) * FIRST_BATCH_SHARE)
    batch1 = paths[:cut]
    batch2 = paths[cut:] + [
        _write_ties(busiest, top_views, extra),
        _write_edges(AS_OF, extra),
        _write_gap(last_window, known_article, extra),
    ]
    expected = EventsExpected()
    with WAREHOUSES[target](folder):
        for path in batch1:
            shutil.copy(path, inbox)
        expected.add_batch(inbox)
        first = ingest_event_files(str(inbox), target, quiet=True)
        assert first.files_loaded == len(batch1) and not first.rejected
        build = dbt_build(target, BUILD, quiet=True)
        assert build.success, build.lines()
        counter_after_first = _select(target, "marts.attention_counter", COUNTER_COLUMNS)
        windows_after_first = _select(target, "marts.attention_article_window", WINDOW_COLUMNS)
        expected_first = copy.deepcopy(expected)

        batch2.append(_write_same_minute(expected_first, extra))
        for path in batch2:
            shutil.copy(path, inbox)
        expected.add_batch(inbox)
        second = ingest_event_files(str(inbox), target, quiet=True)
        assert second.files_loaded == len(batch2) and not second.rejected
        build = dbt_build(target, BUILD, quiet=True)
        assert build.success, build.lines()
        yield Built(
            target,
            expected,
            expected_first,
            busiest,
            last_window,
            ref.counter(expected_first.events())["window_start"].max(),
            counter_after_first,
            windows_after_first,
            time.perf_counter() - began,
        )


# --------------------------------------------------------------------------- comparing


def _normal(value):
    """One representation per value: None, str, int, Decimal, naive UTC datetime."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp | dt.datetime):
        moment = pd.Timestamp(value)
        if moment.tzinfo is not None:
            moment = moment.tz_convert("UTC").tz_localize(None)
        return moment.to_pydatetime()
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Decimal):
        return value
    if pd.isna(value):
        return None
    return int(value)


def _keyed(rows, width: int) -> dict[tuple, tuple]:
    keyed = {
        tuple(_normal(v) for v in row[:width]): tuple(_normal(v) for v in row[width:])
        for row in rows
    }
    assert len(keyed) == len(rows), "the key is not unique"
    return keyed


def _frame_rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(record[c] for c in columns) for record in frame.to_dict("records")]


def _assert_same(actual_rows, expected: pd.DataFrame, columns: list[str], width: int) -> None:
    """Rows (key columns first) equal the expectation, key by key."""
    actual = _keyed(actual_rows, width)
    wanted = _keyed(_frame_rows(expected, columns), width)
    missing, extra = sorted(set(wanted) - set(actual)), sorted(set(actual) - set(wanted))
    assert not missing and not extra, (
        f"{len(missing)} keys missing, e.g. {missing[:3]}; "
        f"{len(extra)} unexpected, e.g. {extra[:3]}"
    )
    differ = [(k, actual[k], wanted[k]) for k in sorted(wanted) if actual[k] != wanted[k]]
    assert not differ, f"{len(differ)} rows differ (key, actual, expected), e.g. {differ[:5]}"


def _per_window(rows: list[tuple]) -> dict[dt.datetime, tuple[int, int]]:
    """attention_counter rows (COUNTER_COLUMNS) as window_start -> (views, order lines)."""
    return {_normal(start): (int(v), int(n)) for start, _, v, n in rows}


# --------------------------------------------------------------------------- 4-hour windows


def test_the_data_exercises_the_top_100_cut_and_every_tie(built):
    """Guards the comparisons below against data that would test nothing."""
    windows = ref.article_windows(built.expected.events())
    articles = windows.groupby("window_start").size()
    assert (articles > 100).sum() >= 3, "no window has more than 100 articles"

    ranked = ref.rank(windows, ["window_start"])
    following = ranked.groupby("window_start").shift(-1)
    kept = ranked["attention_rank"] <= 100
    same_views = ranked["details_view_count"] == following["details_view_count"]
    same_lines = ranked["transaction_item_count"] == following["transaction_item_count"]
    assert (kept & same_views & ~same_lines).any(), "no tie on views decided by order lines"
    assert (kept & same_views & same_lines).any(), "no tie decided by article id"
    at_cut = (ranked["attention_rank"] == 100) & same_views
    assert at_cut.any(), "no tie on views across the rank-100 cut"

    top = ref.high_attention(built.expected.events())
    ratios = top["views_to_purchase_ratio"]
    assert ratios.isna().any() and ratios.notna().any()
    assert (ratios.dropna() == 0).any()  # order lines without views
    exact = [
        Decimal(int(v)) / Decimal(int(n))
        for v, n in zip(top["details_view_count"], top["transaction_item_count"], strict=True)
        if n
    ]
    assert any(x.quantize(ref.SIX_PLACES, ROUND_DOWN) != x.quantize(ref.SIX_PLACES) for x in exact)

    # the hand-made ties: ranks 1..4 of the busiest window, by order lines then by id
    busiest = top[top["window_start"] == built.busiest_window].set_index("attention_rank")
    assert list(busiest.loc[1:4, "article_id"]) == [
        "TIE-000004", "TIE-000002", "TIE-000003", "TIE-000001",
    ]  # fmt: skip


def test_article_windows_match_the_reference(built):
    expected = ref.article_windows(built.expected.events())
    rows = _select(built.target, "marts.attention_article_window", WINDOW_COLUMNS)
    assert len(rows) == len(expected)
    _assert_same(rows, expected, WINDOW_COLUMNS, 2)


def test_counter_matches_the_reference(built):
    expected = ref.counter(built.expected.events())
    rows = _select(built.target, "marts.attention_counter", COUNTER_COLUMNS)
    assert len(rows) == len(expected)
    _assert_same(rows, expected, COUNTER_COLUMNS, 1)
    events = ref.attention_events(built.expected.events())
    totals = [sum(int(row[i]) for row in rows) for i in (2, 3)]
    assert totals == [int(events["is_view"].sum()), int(events["is_line"].sum())]


def test_minute_pre_aggregate_matches_the_reference(built):
    counted = ref.attention_events(built.expected.events())
    expected = (
        counted.assign(minute_start=counted["occurred_at"].dt.floor("min"))
        .groupby(["article_id", "minute_start"])
        .agg(details_view_count=("is_view", "sum"), transaction_item_count=("is_line", "sum"))
        .reset_index()
    )
    columns = ["article_id", "minute_start", *COUNTS]
    rows = _select(built.target, "marts.attention_article_minute", columns)
    assert len(rows) == len(expected)
    _assert_same(rows, expected, columns, 2)


def test_top_100_of_every_window_matches_the_reference(built):
    expected = ref.high_attention(built.expected.events())
    rows = _select(built.target, "marts.high_attention_articles", HIGH_COLUMNS)
    assert len(rows) == len(expected)
    _assert_same(rows, expected, HIGH_COLUMNS, 2)
    kept = pd.Series([_normal(row[0]) for row in rows]).value_counts()
    assert kept.max() == 100


def test_late_events_move_counts_into_their_own_window(built):
    """Events first delivered in the second batch whose window already existed after the
    first build raise exactly that window's counts, and nothing else changes there."""
    before = _per_window(built.counter_after_first)
    expected_before = ref.counter(built.expected_first.events())
    _assert_same(built.counter_after_first, expected_before, COUNTER_COLUMNS, 1)
    _assert_same(
        built.windows_after_first,
        ref.article_windows(built.expected_first.events()),
        WINDOW_COLUMNS,
        2,
    )

    events = built.expected.events()
    new = events[events["batch"] == 2]
    late = ref.article_windows(new)
    late = late[late["window_start"] <= built.first_batch_last_window]
    generated = ref.article_windows(new[new["file_name"].str.startswith("events_")])
    really_late = generated[generated["window_start"] < built.first_batch_last_window]
    assert len(really_late) > 0, "no generated late event: the test would prove nothing"

    delta = late.groupby("window_start")[COUNTS].sum()
    after = _per_window(_select(built.target, "marts.attention_counter", COUNTER_COLUMNS))
    changed = 0
    for window, (views, lines) in before.items():
        more = delta.loc[window] if window in delta.index else pd.Series([0, 0], index=COUNTS)
        assert after[window] == (
            views + int(more["details_view_count"]),
            lines + int(more["transaction_item_count"]),
        ), window
        changed += after[window] != (views, lines)
    assert changed >= len(set(really_late["window_start"]))

    # some late events fall in (article, minute) pairs the first build had counted already
    def minutes(frame: pd.DataFrame) -> set[tuple]:
        counted = ref.attention_events(frame)
        return set(zip(counted["article_id"], counted["occurred_at"].dt.floor("min"), strict=True))

    assert minutes(new) & minutes(built.expected_first.events())

    # per article and window as well
    old = _keyed(built.windows_after_first, 2)
    now = _keyed(_select(built.target, "marts.attention_article_window", WINDOW_COLUMNS), 2)
    late_by_key = {
        (row.article_id, row.window_start.to_pydatetime()): (
            row.details_view_count,
            row.transaction_item_count,
        )
        for row in late.itertuples()
    }
    for key in set(old) | set(late_by_key):
        previous = old.get(key, (None, 0, 0))[1:]
        added = late_by_key.get(key, (0, 0))
        assert now[key][1:] == (previous[0] + added[0], previous[1] + added[1]), key


def test_windows_are_contiguous_with_zeros_between_events(built):
    rows = sorted(
        _select(built.target, "marts.attention_counter", COUNTER_COLUMNS), key=lambda r: r[0]
    )
    starts = [_normal(row[0]) for row in rows]
    assert all(b - a == FOUR_HOURS for a, b in zip(starts, starts[1:], strict=False))
    assert all(_normal(end) - _normal(start) == FOUR_HOURS for start, end, *_ in rows)
    assert all(s.hour % 4 == 0 and s.minute == s.second == s.microsecond == 0 for s in starts)

    events = ref.attention_events(built.expected.events())
    assert starts[0] == ref.window_of(events["occurred_at"].min())
    assert starts[-1] == ref.window_of(events["occurred_at"].max())

    before_gap = built.expected.events()
    before_gap = ref.attention_events(before_gap[before_gap["file_name"] != GAP_FILE])
    last = ref.window_of(before_gap["occurred_at"].max()).to_pydatetime()
    assert last == built.last_generated_window
    empty = [row for row in rows if last < _normal(row[0]) < starts[-1]]
    assert len(empty) == (starts[-1] - last) // FOUR_HOURS - 1 >= GAP // FOUR_HOURS
    assert all(row[2] == 0 and row[3] == 0 for row in empty)
    assert _per_window(rows)[starts[-1]] != (0, 0)
    between = (
        f"window_start > '{last:%Y-%m-%d %H:%M:%S}' "
        f"and window_start < '{starts[-1]:%Y-%m-%d %H:%M:%S}'"
    )
    statement = f"select count(*) from marts.attention_article_window where {between}"  # noqa: S608
    assert query(built.target, statement) == [(0,)]
    high = {
        _normal(r[0]) for r in _select(built.target, "marts.high_attention_articles", HIGH_COLUMNS)
    }
    assert not high & {_normal(row[0]) for row in empty}


# --------------------------------------------------------------------------- trailing 4 hours


def _release_dbt_duckdb(target: str) -> None:
    """dbt-duckdb keeps the warehouse file open (read-write) in this process until exit;
    `trailing_attention` opens it read-only, which DuckDB refuses within one process. The
    CLI runs it in a process of its own; here, let dbt's handle go first."""
    if target != "duckdb":
        return
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def _cli_table(target: str, as_of: dt.datetime | None, capsys) -> tuple[str, list[tuple]]:
    when = [] if as_of is None else ["--as-of", as_of.isoformat()]
    assert cli_main(["attention", "--target", target, "--top", str(TOP), *when]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = []
    for line in lines[2:]:
        words = line.split()
        rows.append(
            (
                int(words[0]),
                words[1],
                int(words[-2].replace(",", "")),
                int(words[-1].replace(",", "")),
            )
        )
    return lines[0], rows


@pytest.mark.parametrize("name", list(AS_OF))
def test_trailing_four_hours_match_the_reference(built, name, capsys):
    as_of = AS_OF[name]
    expected = ref.trailing(built.expected.events(), as_of)
    start, end = ref.trailing_bounds(as_of)
    assert len(expected) > TOP
    edge = expected[expected["article_id"] == f"EDGE-{list(AS_OF).index(name) + 1:06d}"]
    assert edge[COUNTS].values.tolist() == [[2, 1]]  # t - 4h in, t (the minute) out
    top = expected.head(TOP)
    wanted = _frame_rows(top, ["attention_rank", "article_id", *COUNTS])

    # orchestration.attention.trailing_attention
    _release_dbt_duckdb(built.target)
    result = trailing_attention(built.target, as_of, TOP)
    assert (_normal(result.window_start), _normal(result.window_end)) == (start, end)
    got = [(rank, a, v, n) for rank, (a, _, v, n) in enumerate(result.rows, start=1)]
    assert got == wanted
    everything = trailing_attention(built.target, as_of, len(expected) + 10)
    assert len(everything.rows) == len(expected)
    assert [(a, v, n) for a, _, v, n in everything.rows] == _frame_rows(
        expected, ["article_id", *COUNTS]
    )

    # warehouse attention --as-of (the text as given: naive UTC or with its offset)
    header, printed = _cli_table(built.target, as_of, capsys)
    assert f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC" in header
    assert printed == wanted

    # marts.attention_trailing_4h with the as-of baked in (UTC, no offset)
    var = json.dumps({"attention_as_of": f"{_utc(as_of):%Y-%m-%dT%H:%M:%S}"})
    build = dbt_build(built.target, ["--select", "attention_trailing_4h", "--vars", var], True)
    assert build.success, build.lines()
    rows = _select(built.target, "marts.attention_trailing_4h", TRAILING_COLUMNS)
    full = expected.assign(window_start=start, window_end=end)
    assert len(rows) == len(full)
    _assert_same(rows, full, TRAILING_COLUMNS, 1)

    # without --as-of: the view, whatever as-of it was built with (here the one above)
    _release_dbt_duckdb(built.target)
    from_view = trailing_attention(built.target, None, TOP)
    assert (_normal(from_view.window_start), _normal(from_view.window_end)) == (start, end)
    assert [(rank, a, v, n) for rank, (a, _, v, n) in enumerate(from_view.rows, 1)] == wanted
    assert [row[1] for row in from_view.rows] == [row[1] for row in result.rows]  # names
    header, printed = _cli_table(built.target, None, capsys)
    assert f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC" in header
    assert printed == wanted


def test_the_trailing_view_follows_the_clock_without_an_as_of(built):
    """Puts the view back as the project builds it (as of now) for what follows."""
    build = dbt_build(built.target, ["--select", "attention_trailing_4h"], True)
    assert build.success, build.lines()
    before = ref.trailing(built.expected.events(), dt.datetime.now(dt.UTC))
    rows = _select(built.target, "marts.attention_trailing_4h", TRAILING_COLUMNS)
    after = ref.trailing(built.expected.events(), dt.datetime.now(dt.UTC))
    assert len(rows) in (len(before), len(after))

    _release_dbt_duckdb(built.target)
    earlier = ref.trailing_bounds(dt.datetime.now(dt.UTC))
    result = trailing_attention(built.target, None, TOP)
    later = ref.trailing_bounds(dt.datetime.now(dt.UTC))
    assert (_normal(result.window_start), _normal(result.window_end)) in (earlier, later)
    assert len(result.rows) == min(len(rows), TOP)


@pytest.mark.parametrize("as_of", [[], ["--as-of", "2026-10-02T12:00"]])
def test_attention_without_marts_says_so_in_a_line(tmp_path, monkeypatch, capsys, as_of):
    import duckdb

    monkeypatch.setenv("WAREHOUSE_DUCKDB", str(tmp_path / "missing.duckdb"))
    assert cli_main(["attention", *as_of]) == 1
    assert not (tmp_path / "missing.duckdb").exists()  # only ever read
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    monkeypatch.setenv("WAREHOUSE_DUCKDB", str(empty))
    assert cli_main(["attention", *as_of]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in errors] == [
        "error",
        "  run `warehouse run` first",
        "error",
        "  run `warehouse build` first",
    ]
    assert "no DuckDB warehouse at" in errors[0]
    assert "cannot read the attention marts" in errors[2]


# --------------------------------------------------------------------------- full refresh


def test_incremental_builds_equal_a_full_refresh(built):
    """Last in this module: it rebuilds the attention marts from scratch."""

    def capture() -> dict[str, list[tuple]]:
        return {
            table: comparable_rows(built.target, table, key)
            for table, key in ATTENTION_MARTS.items()
        }

    incremental = capture()
    assert all(incremental.values())
    select = ["--select", "+attention_counter+", "+high_attention_articles", *CAUTIOUS]
    build = dbt_build(built.target, ["--full-refresh", *select], quiet=True)
    assert build.success, build.lines()
    refreshed = capture()
    for table in ATTENTION_MARTS:
        assert len(refreshed[table]) == len(incremental[table]), table
        assert refreshed[table] == incremental[table], table
    print(f"{built.target}: fixture {built.seconds:.1f} s")
