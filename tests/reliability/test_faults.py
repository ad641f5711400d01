"""Runs that die, are cut off or collide, on DuckDB and PostgreSQL: after recovery
the warehouse must equal, row for row, a clean single run of the same input into
a fresh warehouse (every mart, staging counts, raw rows per file).

The clean run is computed once per engine (the two at once). Each scenario is one
warehouse that runs several steps: the input arrives in four batches and a run is
killed at a different point in each, so every recovery also has to cope with new work.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from events_reference import EventsExpected
from fault_harness import (
    EXIT_KILLED,
    Input,
    Warehouse,
    assert_same,
    copy_files,
    error_lines,
    new_warehouse,
    other_backends,
    terminate,
    wait_for,
    write_small_input,
)
from reference import Expected

from samples.marketplace_files import write_large_csv

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

EXIT_OK, EXIT_FAILED, EXIT_REJECTED, EXIT_BUSY = 0, 1, 3, 4
INGEST_FAULTS = (
    "ingest:after_prepare",
    "ingest:after_extract",
    "ingest:after_normalize",
    "ingest:after_load",
)
# two kill points per engine, the four across both (each build costs ~25 s of CI):
# one early in the DAG (staging or dedup stamped, nothing downstream) and one late
DBT_FAULTS = {
    "duckdb": ("dbt:after:int_shop_events_landed", "dbt:after:fact_sales"),
    "postgres": ("dbt:after:int_shop_events_deduplicated", "dbt:after:sku_sales"),
}


@pytest.fixture(scope="session")
def small_input(tmp_path_factory) -> Input:
    return write_small_input(tmp_path_factory.mktemp("fault_input"))


@dataclass
class Clean:
    target: str
    exit_code: int
    next_exit_code: int  # of the run after it, with nothing new
    snapshot: dict
    quarantined: set[str]


@pytest.fixture(scope="module")
def clean_runs(small_input, tmp_path_factory) -> Iterator[dict[str, Clean | str]]:
    """The whole input, once per engine, into fresh warehouses: what every recovery must
    equal. The two engines' runs run at once; a skipped engine maps to the reason."""
    with contextlib.ExitStack() as stack:
        started: dict[str, tuple[Warehouse, subprocess.Popen, Path]] = {}
        skipped: dict[str, Clean | str] = {}
        for target in ("duckdb", "postgres"):
            folder = tmp_path_factory.mktemp(f"clean_{target}")
            try:
                wh = stack.enter_context(new_warehouse(target, folder))
            except pytest.skip.Exception as skip:  # no PostgreSQL server, and not required
                skipped[target] = str(skip)
                continue
            copy_files(small_input.marketplace, wh.inbox)
            copy_files(small_input.events, wh.events)
            started[target] = (wh, wh.start(output=folder / "run.log"), folder / "run.log")
        cleans = skipped
        for target, (wh, run, log) in started.items():
            exit_code = run.wait(timeout=600)
            assert exit_code in (EXIT_OK, EXIT_REJECTED), log.read_text()[-3000:]
            snapshot = wh.snapshot()
            quarantined = _quarantined(wh)
            following = wh.cli(*wh.run_args("ingest"))
            cleans[target] = Clean(target, exit_code, following.returncode, snapshot, quarantined)
        yield cleans


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def clean(request, clean_runs) -> Clean:
    found = clean_runs[request.param]
    if isinstance(found, str):
        pytest.skip(found)
    return found


def _quarantined(wh: Warehouse) -> set[str]:
    folder = wh.inbox / "_quarantine"
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def _assert_raw_holds_each_delivery_once(wh: Warehouse, clean: Clean) -> None:
    """No file landed twice, and each landed file has as many raw rows as in the clean run."""
    raw_tables = {
        name
        for (name,) in wh.query(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        )
    }
    for table, key in (
        ("raw.marketplace_sales_rows", "_source_file_hash, _source_row_number"),
        ("raw.shop_events", "_source_file_hash, _source_line_number"),
    ):
        if table.removeprefix("raw.") not in raw_tables:
            continue  # killed before anything landed
        total, distinct = wh.query(f"select count(*), count(distinct ({key})) from {table}")[0]  # noqa: S608
        assert total == distinct, f"{table}: {total - distinct} rows landed twice"
        per_file = set(clean.snapshot[table])
        landed = wh.query(
            f"select _source_file_name, _source_file_hash, count(*) from {table} "  # noqa: S608
            "group by _source_file_name, _source_file_hash"
        )
        assert set(landed) <= per_file, f"{table}: a file landed other rows than in a clean run"


def _feed(wh: Warehouse, marketplace: list[Path], events: list[Path]) -> None:
    copy_files(marketplace, wh.inbox)
    copy_files(events, wh.events)


def _killed(result: subprocess.CompletedProcess, fault: str) -> None:
    assert result.returncode == EXIT_KILLED, (
        f"{fault} was never reached (exit {result.returncode}): {result.stderr[-2000:]}"
    )


# --------------------------------------------------------------------------- the clean run


def test_the_clean_run_reconciles_with_the_reference_models(clean, small_input, tmp_path):
    """Guards the comparisons below: the clean run itself is right, and the data has
    rejected files and rows, duplicates and late events to get wrong."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    copy_files(small_input.marketplace, inbox)
    expected = Expected()
    expected.add_batch(inbox)
    assert clean.exit_code == EXIT_REJECTED and clean.next_exit_code == EXIT_OK
    names = {name for name in clean.quarantined if not name.endswith(".reason")}
    assert names == expected.rejected_files
    assert clean.quarantined == names | {f"{name}.reason" for name in names}

    sku_sales = expected.sku_sales()
    columns = ["marketplace_code", "country_code", "report_date", "seller_id", "sku_id"]
    rows = clean.snapshot["marts.sku_sales"]
    assert len(rows) == len(sku_sales)
    assert sum(row[5] for row in rows) == sku_sales["units_sold"].sum()  # units_sold
    assert sum(Decimal(row[6]) for row in rows) == sum(sku_sales["gmv"])  # gmv
    assert {row[:5] for row in rows} == set(map(tuple, sku_sales[columns].to_numpy().tolist()))
    assert len(clean.snapshot["marts.marketplace_rejected_rows"]) == len(expected.rejected_rows)

    events = EventsExpected()
    events.add_batch(small_input.events[0].parent)
    deduplicated = events.events()
    assert len(events.deliveries()) > len(deduplicated)  # duplicates delivered
    views = (deduplicated["event_type"] == "DETAILS_VIEW").sum()
    minutes = clean.snapshot["marts.attention_article_minute"]
    assert sum(row[2] for row in minutes) == views  # details_view_count, each view once
    assert len(clean.snapshot["marts.fact_sales"]) == len(events.sales())
    assert clean.snapshot["intermediate.int_shop_events_landed"] == len(events.deliveries())


# --------------------------------------------------------------------------- 1. ingest killed


def test_an_ingest_killed_at_every_point_recovers_to_the_clean_run(clean, small_input, tmp_path):
    """SIGKILL at each ingest point, one per batch, each followed by a normal ingest;
    the kill after the load leaves the bad files unquarantined for the last run."""
    with new_warehouse(clean.target, tmp_path) as wh:
        for (marketplace, events), fault in zip(small_input.batches(), INGEST_FAULTS, strict=True):
            _feed(wh, marketplace, events)
            _killed(wh.cli(fault=fault), fault)
            _assert_raw_holds_each_delivery_once(wh, clean)
            if fault == "ingest:after_load":
                assert {path.name for path in marketplace} <= {p.name for p in wh.inbox.iterdir()}
                break  # the last batch recovers with a full run below
            recovered = wh.cli(*wh.run_args("ingest"))
            assert recovered.returncode == EXIT_OK, recovered.stderr
            _assert_raw_holds_each_delivery_once(wh, clean)

        recovered = wh.cli()
        assert recovered.returncode == clean.exit_code, recovered.stderr
        assert_same(wh.snapshot(), clean.snapshot)
        assert _quarantined(wh) == clean.quarantined
        assert wh.cli(*wh.run_args("ingest")).returncode == clean.next_exit_code


# --------------------------------------------------------------------------- 2. dbt killed


def test_a_build_killed_mid_dag_never_counts_a_batch_twice(clean, small_input, tmp_path):
    """Each batch arrives with a run whose `dbt build` is killed after another node
    (staging stamped, dedup done, facts half done, sku_sales done but not the rest); the
    next run builds the rest and the next batch. Watermarked models must take every
    staged batch exactly once: the additive attention_article_minute shows a double
    count at once."""
    with new_warehouse(clean.target, tmp_path) as wh:
        marketplace = small_input.marketplace
        batches = [events for _, events in small_input.batches()]
        halves = [batches[0] + batches[1], batches[2] + batches[3]]
        for events, fault in zip(halves, DBT_FAULTS[clean.target], strict=True):
            _feed(wh, marketplace, events)
            marketplace = []  # all marketplace files arrive with the first batch
            _killed(wh.cli(fault=fault), fault)
            _assert_raw_holds_each_delivery_once(wh, clean)

        recovered = wh.cli()
        assert recovered.returncode == clean.next_exit_code, recovered.stderr
        assert_same(wh.snapshot(), clean.snapshot)
        assert _quarantined(wh) == clean.quarantined


# --------------------------------------------------------------------------- 3. connections cut


# 100,000 rows: a COPY of a second or more (polled every 20 ms), and two builds that
# stay short (each build reads every row several times)
@pytest.mark.parametrize("rows", [100_000])
def test_postgres_connections_terminated_mid_copy(rows, small_input, tmp_path):
    """The server ends every connection of the ingest while its COPYs run: the run fails
    with one line, and the next run lands the file once and builds what a clean run does
    (the clean run of the same file runs meanwhile, into a database of its own)."""
    big = write_large_csv(tmp_path / "big" / "GDN_SG_big.csv", rows)
    os.utime(big, (1_793_000_000, 1_793_000_000))
    with (
        new_warehouse("postgres", tmp_path / "clean") as reference,
        new_warehouse("postgres", tmp_path / "cut") as wh,
    ):
        copy_files([big], reference.inbox)
        clean_run = reference.start(output=tmp_path / "clean_run.log")
        copy_files([big], wh.inbox)
        database = wh.env["PGDATABASE"]
        run = wh.start(*wh.run_args("ingest"))
        copying = wait_for(
            lambda: [
                pid
                for pid, _, statement in other_backends(database)
                if statement.lstrip().lower().startswith("copy")
            ],
            timeout=120,
            interval=0.02,
            what="a COPY into the test database",
        )
        assert copying
        deadline = time.monotonic() + 5  # keep cutting: dlt may retry on new connections
        while run.poll() is None and time.monotonic() < deadline:
            terminate([pid for pid, _, _ in other_backends(database)])
            time.sleep(0.05)
        _, stderr = run.communicate(timeout=300)
        assert run.returncode not in (EXIT_OK, EXIT_KILLED), stderr

        recovered = wh.cli()
        assert recovered.returncode == EXIT_OK, recovered.stderr
        landed = wh.query(
            "select count(*), count(distinct _source_row_number) from raw.marketplace_sales_rows"
        )
        assert landed == [(rows, rows)]
        assert clean_run.wait(timeout=600) == EXIT_OK, (tmp_path / "clean_run.log").read_text()
        assert_same(wh.snapshot(), reference.snapshot())
        # last, so that the recovery above is checked whatever the message looks like
        assert "Traceback" not in stderr
        errors = error_lines(stderr)
        assert len(errors) == 1 and len(errors[0]) < 200, stderr


# --------------------------------------------------------------------------- 4. two runs at once


def _pause_when(process: subprocess.Popen, marker: str, lines: list[str]) -> threading.Event:
    """SIGSTOP the process as soon as its stderr shows `marker` (it holds the lock then)."""
    paused = threading.Event()

    def watch() -> None:
        for line in process.stderr:
            lines.append(line)
            if marker in line and not paused.is_set():
                os.kill(process.pid, signal.SIGSTOP)
                paused.set()

    threading.Thread(target=watch, daemon=True).start()
    return paused


def test_two_runs_at_once_one_paused_while_holding_the_lock(clean, small_input, tmp_path):
    """A run stopped (SIGSTOP) mid-ingest holds the writer lock: a second run, with the
    same or another dlt folder, exits 4 at once naming it; one with --wait waits, and
    after SIGCONT both finish, every delivery lands once and the marts equal a clean run."""
    with new_warehouse(clean.target, tmp_path) as wh:
        _feed(wh, small_input.marketplace, small_input.events)
        other_dlt = {"WAREHOUSE_DLT_DIR": str(tmp_path / "dlt_second_machine")}
        first = wh.start()
        first_stderr: list[str] = []
        paused = _pause_when(first, "Ingesting web-shop events", first_stderr)
        try:
            assert paused.wait(timeout=120), "".join(first_stderr)
            assert wh.lock_holder_pid() == first.pid
            # started first, so that it waits while the two runs below come and go
            waiting = wh.start(*wh.run_args(), "--wait", "600", **other_dlt)
            for extra in ({}, other_dlt):
                started = time.monotonic()
                busy = wh.cli(**extra)
                assert busy.returncode == EXIT_BUSY, busy.stderr
                assert time.monotonic() - started < 30  # at once, not after the first run
                assert f"pid {first.pid}" in busy.stderr
                assert len(error_lines(busy.stderr)) == 1
            assert waiting.poll() is None, "a run with --wait did not wait for the lock"
        finally:
            os.kill(first.pid, signal.SIGCONT)
        assert first.wait(timeout=600) == clean.exit_code, "".join(first_stderr)
        out, err = waiting.communicate(timeout=600)
        assert waiting.returncode == clean.next_exit_code, err
        _assert_raw_holds_each_delivery_once(wh, clean)
        assert_same(wh.snapshot(), clean.snapshot)
