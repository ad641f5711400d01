"""One writer per warehouse: a second run says who holds the lock and exits 4."""

import os
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import query

from orchestration.cli import main
from orchestration.errors import EXIT_BUSY
from orchestration.lock import writer_lock

HEADER = "report_date,seller_id,sku_id,units_sold,gmv"


def _inbox(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "GDN_SG_2026-11-01.csv").write_text(f"{HEADER}\n2026-11-01,S1,K1,1,10\n")
    return inbox


def test_a_second_writer_is_refused_with_who_holds_the_lock(warehouse, tmp_path, capsys):
    inbox = _inbox(tmp_path)
    with writer_lock(warehouse, "run"):
        assert main(["ingest", "--target", warehouse, "--inbox", str(inbox)]) == EXIT_BUSY
        error = capsys.readouterr().err
        assert f"pid {os.getpid()}" in error and "`warehouse run`" in error
        assert "--wait" in error
        assert len(error.strip().splitlines()) == 2  # what is wrong, what to do
    # nothing was written while it was held; once released the run goes ahead
    assert main(["ingest", "--target", warehouse, "--inbox", str(inbox)]) == 0
    assert query(warehouse, "select count(*) from raw.marketplace_sales_rows") == [(1,)]


def test_wait_gives_up_after_the_time_given(duckdb_warehouse, tmp_path, capsys):
    inbox = _inbox(tmp_path)
    with writer_lock("duckdb", "build"):
        started = time.monotonic()
        assert main(["ingest", "--inbox", str(inbox), "--wait", "1"]) == EXIT_BUSY
        assert time.monotonic() - started >= 1
    assert "waited 1 s" in capsys.readouterr().err


def test_wait_goes_ahead_once_the_holder_ends(warehouse, tmp_path):
    """The holder is another process; killing it releases the lock (no stale lock)."""
    inbox = _inbox(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from orchestration.lock import writer_lock
                with writer_lock({warehouse!r}, "run"):
                    print("held", flush=True)
                    time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["ingest", "--target", warehouse, "--inbox", str(inbox)]) == EXIT_BUSY
        holder.kill()  # SIGKILL: the OS (or the server) releases the lock
        holder.wait()
        assert main(["ingest", "--target", warehouse, "--inbox", str(inbox), "--wait", "30"]) == 0
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("bad", ["abc", "-1"])
def test_wait_must_be_a_number_of_seconds(bad, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["ingest", "--wait", bad])
    assert exited.value.code == 2
    assert "not a number of seconds" in capsys.readouterr().err
