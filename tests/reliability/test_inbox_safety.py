"""Hostile inboxes: links, pipes and file names that once blocked every later run.
Whatever sits in the inbox, the good files load, the marts build, a bad file is
quarantined by its own path inside the inbox, and nothing outside it is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import query
from fault_harness import MARKETPLACE_SIDE

from ingest.pipeline import ingest_marketplace_files
from orchestration.cli import main
from orchestration.errors import EXIT_OK, EXIT_REJECTED_INPUT

pytestmark = pytest.mark.reliability

HEADER = "report_date,seller_id,sku_id,units_sold,gmv"
GOOD = "GDN_SG_2026-11-01.csv"
HOSTILE_NAMES = [
    "GDN_SG with space.csv",
    "GDN_SG_quote'.csv",
    'GDN_SG_dq".csv',
    "GDN_SG_semi;colon.csv",
    "GDN_SG_100%.csv",
    "GDN_SG_$HOME.csv",
    "GDN_SG_(paren).csv",
    "GDN_SG_#hash.csv",
    "GDN_SG_what?.csv",
    "GDN_SG_[x].csv",
    "GDN_SG_*.csv",
    "GDN_SG_café.csv",
    "GDN_SG_new\nline.csv",
]


def _delivery(path: Path, sku: str = "K1", units: int = 1) -> Path:
    path.write_text(f"{HEADER}\n2026-11-01,S1,{sku},{units},10\n")
    return path


def test_links_are_refused_never_followed_moved_or_loaded(duckdb_warehouse, tmp_path):
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir()
    elsewhere.mkdir()
    _delivery(inbox / GOOD)
    outside = _delivery(elsewhere / "GDN_SG_outside.csv", sku="K_OUTSIDE")
    precious = elsewhere / "precious.txt"
    precious.write_text("not a delivery, and not ours to move")
    (inbox / "GDN_SG_outside.csv").symlink_to(outside)
    (inbox / "notes.txt").symlink_to(precious)  # a "bad file" that is a link
    (inbox / "GDN_SG_inside.csv").symlink_to(inbox / GOOD)
    (inbox / "GDN_SG_dangling.csv").symlink_to(tmp_path / "gone.csv")

    report = ingest_marketplace_files(str(inbox), "duckdb", quiet=True)

    assert (report.files_loaded, report.rows_landed) == (1, 1)
    refused = dict(report.rejected)
    assert set(refused) == {
        "GDN_SG_outside.csv",
        "notes.txt",
        "GDN_SG_inside.csv",
        "GDN_SG_dangling.csv",
    }
    assert all("symbolic link" in reason for reason in refused.values())
    assert precious.read_text() == "not a delivery, and not ours to move"  # not moved
    assert outside.exists() and (inbox / "notes.txt").is_symlink()
    assert not (inbox / "_quarantine").exists()
    assert query("duckdb", "select sku_id from raw.marketplace_sales_rows") == [("K1",)]

    listed = query("duckdb", "select count(*) from raw.marketplace_files")
    again = ingest_marketplace_files(str(inbox), "duckdb", quiet=True)  # no crash, no load
    assert (again.files_loaded, len(again.rejected)) == (0, 4)  # reported again...
    assert query("duckdb", "select count(*) from raw.marketplace_files") == listed  # ...listed once


def test_a_pipe_in_the_inbox_is_refused_without_blocking(duckdb_warehouse, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _delivery(inbox / GOOD)
    os.mkfifo(inbox / "GDN_SG_pipe.csv")  # reading it would wait forever

    report = ingest_marketplace_files(str(inbox), "duckdb", quiet=True)

    assert report.files_loaded == 1
    assert "not a regular file" in dict(report.rejected)["GDN_SG_pipe.csv"]


@pytest.mark.parametrize("folder_name", ["in box [2026] #1"])
def test_hostile_file_names_are_quarantined_and_the_marts_still_build(
    folder_name, duckdb_warehouse, tmp_path, capsys
):
    inbox = tmp_path / folder_name
    inbox.mkdir()
    _delivery(inbox / GOOD)
    for number, name in enumerate(HOSTILE_NAMES):
        _delivery(inbox / name, sku=f"BAD{number}")

    assert main(["run", "--inbox", str(inbox), "--quiet"]) == EXIT_REJECTED_INPUT

    quarantined = {path.name for path in (inbox / "_quarantine").iterdir()}
    assert quarantined == set(HOSTILE_NAMES) | {f"{name}.reason" for name in HOSTILE_NAMES}
    assert [path.name for path in inbox.iterdir() if path.is_file()] == [GOOD]
    assert query("duckdb", "select sku_id, units_sold from marts.sku_sales") == [("K1", 1)]
    output = capsys.readouterr()
    assert "new\\nline" in output.out  # the name is printed escaped, on one line

    # nothing left to block the next run: its ingest (the step that reads the inbox and
    # the quarantine) takes the inbox as it is; its build would repeat the one above
    assert main(["ingest", "--inbox", str(inbox)]) == EXIT_OK


def test_files_of_a_load_that_never_completed_are_ingested_again(warehouse, tmp_path):
    """A failed package is discarded by dlt; its manifest rows may be in raw already
    but must not make its files look ingested."""
    from conftest import execute

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _delivery(inbox / GOOD, units=5)
    first = ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    # as if that package had failed: its rows stay, its load never completed
    assert first.load_id.replace(".", "").isdigit()  # a dlt load id, safe to inline
    execute(warehouse, f"delete from raw._dlt_loads where load_id = '{first.load_id}'")  # noqa: S608

    again = ingest_marketplace_files(str(inbox), warehouse, quiet=True)

    assert (again.files_loaded, again.files_skipped) == (1, 0)
    from orchestration.dbt_build import dbt_build

    assert dbt_build(warehouse, list(MARKETPLACE_SIDE), quiet=True).success
    assert query(warehouse, "select units_sold from marts.sku_sales") == [(5,)]
