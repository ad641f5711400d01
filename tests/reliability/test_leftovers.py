"""A run killed mid-way leaves its staged files behind; the next run clears them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest import settings
from orchestration.cli import main

pytestmark = pytest.mark.reliability

HEADER = "report_date,seller_id,sku_id,units_sold,gmv"


def test_the_work_folder_of_a_killed_run_is_cleared_by_the_next(duckdb_warehouse, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "GDN_SG_day.csv").write_text(f"{HEADER}\n2026-11-01,S1,K1,3,30\n")
    killed = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "ingest", "--inbox", str(inbox)],
        env={**os.environ, "WAREHOUSE_FAULT_INJECT": "ingest:after_prepare"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
    )
    assert killed.returncode == -9
    work = settings.dlt_pipelines_dir() / "_work"
    assert any(work.rglob("*.parquet"))  # the killed run's staged rows are still there

    assert main(["ingest", "--inbox", str(inbox)]) == 0
    assert not any(path.is_file() for path in work.rglob("*"))
