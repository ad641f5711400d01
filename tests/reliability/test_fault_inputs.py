"""Awkward deliveries on DuckDB and PostgreSQL, reconciled with the independent
reference models (tests/reference.py, tests/events_reference.py):

- re-deliveries over three runs: the same bytes under two names in one run, again
  in the next run and under a new name; a corrected re-delivery (same name, new
  bytes); an older file delivered after a newer one (the most recently ingested
  delivery wins); 10 % duplicated and 5 % late events, late ones in a later run;
- every kind of bad input at once, next to good files.
"""

from __future__ import annotations

import csv
import gzip
import os
import shutil
import zlib
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from events_reference import EventsExpected
from fault_harness import Warehouse, new_warehouse, write_small_input
from reference import Expected, same_usd
from test_events_end_to_end import FACTS, _reconcile, _select

from samples.marketplace_files import BATCH1_MTIME, LABEL, write_redeliveries

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

EXIT_OK, EXIT_REJECTED = 0, 3
SKU_KEY = ["marketplace_code", "country_code", "report_date", "seller_id", "sku_id"]
HEADER = "report_date,seller_id,sku_id,units_sold,gmv"


def _run(wh: Warehouse) -> int:
    result = wh.cli()
    assert result.returncode in (EXIT_OK, EXIT_REJECTED), result.stderr[-3000:]
    assert "failed" not in result.stdout, result.stdout  # dbt build succeeded
    return result.returncode


def _assert_sku_sales_equal_the_reference(
    wh: Warehouse, expected: Expected, unmodelled: frozenset[str] = frozenset()
) -> None:
    """sku_sales and the rejected rows equal the reference (files in `unmodelled` are
    left out of the rejected rows: the reference cannot read them)."""
    sku_sales = expected.sku_sales()
    rows = wh.query(
        "select marketplace_code, country_code, report_date, seller_id, sku_id, "
        "units_sold, gmv, currency_code, gmv_usd from marts.sku_sales"
    )
    actual = {row[:5]: row[5:] for row in rows}
    assert len(actual) == len(rows) == len(sku_sales)
    for record in sku_sales.itertuples(index=False):
        key = tuple(getattr(record, column) for column in SKU_KEY)
        units, gmv, currency, gmv_usd = actual[key]
        assert (units, Decimal(gmv), currency) == (
            record.units_sold,
            record.gmv,
            record.currency_code,
        ), key
        assert same_usd(gmv_usd, record.gmv_usd), (key, gmv_usd, record.gmv_usd)
    rejected = wh.query("select file_name, source_row_number from marts.marketplace_rejected_rows")
    assert {row for row in rejected if row[0] not in unmodelled} == expected.rejected_rows


def _assert_event_marts_equal_the_reference(wh: Warehouse, expected: EventsExpected) -> None:
    with wh.active():
        for mart, (key, columns, tolerances, expectation) in FACTS.items():
            wanted = expectation(expected)
            rows = _select(wh.target, f"marts.{mart}", key + columns)
            assert len(rows) == len(wanted), mart
            _reconcile(rows, wanted, key, columns, tolerances)
        deduplicated = expected.events()
        views = int((deduplicated["event_type"] == "DETAILS_VIEW").sum())
        counted = wh.query("select sum(details_view_count) from marts.attention_article_minute")
        assert counted == [(views,)]  # every view once, whichever run brought it


# --------------------------------------------------------------------------- 5. re-deliveries


def _older_file_after_a_newer_one(inbox: Path) -> Path:
    """Rows for keys the corrected GDN SG delivery holds, with other units, in a file
    whose name and modification time say it is older: ingested last, it wins."""
    corrected = list(csv.DictReader((inbox / f"GDN_SG_{LABEL}.csv").open()))[:8]
    path = inbox / "GDN_SG_2026-10-31.csv"
    lines = [HEADER] + [
        f"{r['report_date']},{r['seller_id']},{r['sku_id']},{int(r['units_sold']) + 7},{r['gmv']}"
        for r in corrected
        if r["units_sold"].strip().lstrip("-").isdigit()
    ]
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (BATCH1_MTIME - 86_400, BATCH1_MTIME - 86_400))
    return path


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_redeliveries_over_three_runs_equal_the_reference(target, tmp_path):
    source = write_small_input(tmp_path / "input")
    half = len(source.events) // 2
    expected, events_expected = Expected(), EventsExpected()
    with new_warehouse(target, tmp_path / "warehouse") as wh:
        # run 1: the sample (a byte-identical copy under a second name, bad files) and
        # the first half of the events, one event file twice under two names
        for path in source.marketplace:
            shutil.copy2(path, wh.inbox / path.name)
        for path in source.events[:half]:
            shutil.copy2(path, wh.events / path.name)
        shutil.copy2(source.events[0], wh.events / "resent_first_hour.jsonl")
        expected.add_batch(wh.inbox)
        events_expected.add_batch(wh.events)
        assert _run(wh) == EXIT_REJECTED

        # run 2: corrected re-deliveries (one under the same name), a loaded file under
        # a new name, the rest of the events (with the late ones) and an event file of
        # run 1 under a new name
        write_redeliveries(wh.inbox, rows_per_file=40, report_dates=2)
        shutil.copy2(wh.inbox / f"SEV_SG_{LABEL}.csv", wh.inbox / f"SEV_SG_{LABEL}_again.csv")
        for path in source.events[half:]:
            shutil.copy2(path, wh.events / path.name)
        shutil.copy2(source.events[1], wh.events / "zz_resent_second_hour.jsonl")
        expected.add_batch(wh.inbox)
        events_expected.add_batch(wh.events)
        assert _run(wh) == EXIT_OK

        # run 3: an older file after the newer ones; nothing else is new
        older = _older_file_after_a_newer_one(wh.inbox)
        expected.add_batch(wh.inbox)
        events_expected.add_batch(wh.events)
        assert _run(wh) == EXIT_OK

        assert events_expected.late_events(batch=2).shape[0] > 0  # the data has late events
        _assert_sku_sales_equal_the_reference(wh, expected)
        _assert_event_marts_equal_the_reference(wh, events_expected)
        # the older file's values won for every key it holds
        won = wh.query(
            "select count(*) from marts.sku_sales where source_file_name = 'GDN_SG_2026-10-31.csv'"
        )
        assert won == [(len(older.read_text().splitlines()) - 1,)]
        deliveries = wh.query(
            "select file_name, status from marts.marketplace_file_deliveries "  # noqa: S608
            f"where file_name like 'SEV_SG_{LABEL}%' or file_name like 'GDN_SG_{LABEL}%'"
        )
        assert sorted(deliveries) == [
            (f"GDN_SG_{LABEL}.csv", "loaded"),
            (f"GDN_SG_{LABEL}.csv", "loaded"),  # the original and the correction
            (f"GDN_SG_{LABEL}_copy.csv", "skipped"),
            (f"SEV_SG_{LABEL}.csv", "loaded"),
            (f"SEV_SG_{LABEL}_again.csv", "skipped"),
        ]


# --------------------------------------------------------------------------- 6. bad inputs


def _xlsx_with_a_far_cell(path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(["2026-11-01", "S1", "FAR1", 1, 10])
    sheet["XFD1048576"] = "x"
    workbook.save(path)


def _truncated_gzip(source: Path, path: Path) -> list[str]:
    """`source` gzipped and cut in half; returns the complete lines that survive."""
    whole = gzip.compress(source.read_bytes())
    cut = whole[: len(whole) // 2]
    path.write_bytes(cut)
    survived = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(cut)
    return [line for line in survived.decode().split("\n")[:-1] if line.strip()]


# (what, file name, how it must come out: "quarantined", "refused" in place, or a
# rejected "row" / "event" with a reason in the quality marts)
BAD_INPUTS = [
    ("a symbolic link", "GDN_SG_link.csv", "refused"),
    ("a fifo", "GDN_SG_pipe.csv", "refused"),
    ("a bad file name", "sales notes.txt", "quarantined"),
    ("an xlsx with a cell at XFD1048576", "GDN_MY_far.xlsx", "quarantined"),
    ("a NUL byte in a cell", "GDN_TH_nul.csv", "quarantined_or_row"),
    ("gmv 99999999999999.99999", "SEV_SG_values.csv:3", "row"),
    ("report_date 1700-01-01", "SEV_SG_values.csv:4", "row"),
    ("an event nested 100,000 deep", "nested.jsonl:1", "event"),
    ("a truncated .jsonl.gz", "events_truncated.jsonl.gz", "event"),
]


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_every_bad_input_at_once(target, tmp_path):
    source = write_small_input(tmp_path / "input")
    good_events = source.events[:10]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "GDN_SG_outside.csv").write_text(f"{HEADER}\n2026-11-01,S1,OUT,1,1\n")
    with new_warehouse(target, tmp_path / "warehouse") as wh:
        inbox, events = wh.inbox, wh.events
        (inbox / "GDN_SG_good.csv").write_text(
            f"{HEADER}\n2026-11-01,S1,K1,3,30.5\n2026-11-01,S1,K2,2,20\n2026-11-02,S2,K1,1,9.99\n"
        )
        (inbox / "SEV_SG_values.csv").write_text(
            f"{HEADER}\n2026-11-01,S9,V1,4,40\n2026-11-01,S9,V2,1,99999999999999.99999\n"
            "1700-01-01,S9,V3,1,1\n"
        )
        (inbox / "GDN_SG_link.csv").symlink_to(elsewhere / "GDN_SG_outside.csv")
        os.mkfifo(inbox / "GDN_SG_pipe.csv")
        (inbox / "sales notes.txt").write_text("not a delivery\n")
        _xlsx_with_a_far_cell(inbox / "GDN_MY_far.xlsx")
        (inbox / "GDN_TH_nul.csv").write_bytes(f"{HEADER}\n2026-11-01,S\x001,N1,1,1\n".encode())
        for path in good_events:
            shutil.copy2(path, events / path.name)
        (events / "nested.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
        survived = _truncated_gzip(source.events[10], events / "events_truncated.jsonl.gz")
        assert survived

        # the reference reads only what it can: the good files and the surviving lines
        reference_inbox, reference_events = tmp_path / "ref_inbox", tmp_path / "ref_events"
        reference_inbox.mkdir()
        reference_events.mkdir()
        for name in ("GDN_SG_good.csv", "SEV_SG_values.csv"):
            shutil.copy2(inbox / name, reference_inbox / name)
        for path in good_events:
            shutil.copy2(path, reference_events / path.name)
        (reference_events / "events_truncated.jsonl").write_text("\n".join(survived) + "\n")
        expected, events_expected = Expected(), EventsExpected()
        expected.add_batch(reference_inbox)
        events_expected.add_batch(reference_events)

        result = wh.cli()
        assert result.returncode == EXIT_REJECTED, result.stdout + result.stderr[-3000:]
        assert "failed" not in result.stdout, result.stdout
        assert (elsewhere / "GDN_SG_outside.csv").exists() and (
            inbox / "GDN_SG_link.csv"
        ).is_symlink()

        quarantine = inbox / "_quarantine"
        deliveries = {
            name: (status, reason)
            for name, status, reason in wh.query(
                "select file_name, status, reason from marts.marketplace_file_deliveries"
            )
        }
        rows = {
            (name, number): reason
            for name, number, reason in wh.query(
                "select file_name, source_row_number, rejection_reason "
                "from marts.marketplace_rejected_rows"
            )
        }
        rejected_events = {
            (name, number): reason
            for name, number, reason in wh.query(
                "select file_name, source_line_number, rejection_reason "
                "from marts.shop_rejected_events"
            )
        }
        for what, where, outcome in BAD_INPUTS:
            name, _, number = where.partition(":")
            quarantined = (quarantine / name).exists() and (
                quarantine / f"{name}.reason"
            ).read_text().strip()
            if outcome == "quarantined" or (outcome == "quarantined_or_row" and quarantined):
                assert quarantined, what
                assert deliveries[name][0] == "rejected" and deliveries[name][1], what
            elif outcome == "refused":
                assert (inbox / name).exists() or (inbox / name).is_symlink(), what
                assert deliveries.get(name, (None, None))[0] == "rejected", (what, deliveries)
                assert deliveries[name][1], what
            elif outcome in ("row", "quarantined_or_row"):
                reasons = [
                    r
                    for (f, n), r in rows.items()
                    if f == name and (not number or n == int(number))
                ]
                assert reasons and all(reasons), (what, rows)
            else:
                reasons = [r for (f, n), r in rejected_events.items() if f == name]
                assert reasons and all(reasons), (what, rejected_events)
        assert "truncated" in rejected_events[("events_truncated.jsonl.gz", len(survived) + 1)]
        assert "nested deeper" in rejected_events[("nested.jsonl", 1)]

        _assert_sku_sales_equal_the_reference(wh, expected, frozenset({"GDN_TH_nul.csv"}))
        assert {row[0] for row in wh.query("select sku_id from marts.sku_sales")} == {
            "K1",
            "K2",
            "V1",
        }
        # the good events: the reference names the surviving lines' file without .gz
        rows_by_file = dict(
            wh.query(
                "select file_name, count(*) from intermediate.int_shop_events_landed "
                "group by file_name"
            )
        )
        assert rows_by_file["events_truncated.jsonl.gz"] == len(survived) + 1
        _assert_event_marts_equal_the_reference(wh, events_expected)
