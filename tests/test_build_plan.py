"""`warehouse run` builds what changed: nothing when no load completed since the last
green build, what depends on the sources that loaded otherwise, everything after a
failed build or a change to the dbt project. Whatever it skips, the marts end as a
full build would leave them."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from datetime import UTC, datetime

from conftest import comparable_rows, duckdb_env, execute, query

from ingest import settings
from orchestration import build_plan
from orchestration.cli import main as cli_main
from samples.events import EventConfig, write_events
from samples.marketplace_files import write_redeliveries, write_sample_inbox

COMPARED = ("sku_sales", "seller", "fact_sales", "dim_cart", "shop_daily_metrics")


def _run(*extra: str) -> dict:
    """`warehouse run --json` on the test's inboxes; the summary as a dict."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        cli_main(["run", "--json", "--quiet", *extra])
    return json.loads(out.getvalue())


def _marts() -> dict[str, list[tuple]]:
    return {
        mart: comparable_rows("duckdb", f"marts.{mart}", "1, 2, 3", leave_out=("source_load_id",))
        for mart in COMPARED
    }


def test_a_run_builds_nothing_when_nothing_is_new_and_only_what_new_loads_change(
    tmp_path, monkeypatch
):
    inbox, events, later_events = tmp_path / "inbox", tmp_path / "events", tmp_path / "later"
    write_sample_inbox(inbox)
    write_events(EventConfig(customers=60, days=1), events, progress=False)
    start = datetime(2026, 10, 3, tzinfo=UTC)
    write_events(EventConfig(customers=60, days=1, start=start), later_events, progress=False)
    with duckdb_env(tmp_path):
        both = ["--inbox", str(inbox), "--events", str(events)]
        first = _run(*both)
        assert first["build_plan"]["select"] is None and first["build"]["success"]
        # where the build's time went: its five slowest nodes, slowest first
        slowest = [node["seconds"] for node in first["build"]["slowest"]]
        assert len(slowest) == 5 and slowest == sorted(slowest, reverse=True)
        assert 0 < slowest[0] <= first["build"]["seconds"]

        again = _run(*both)
        assert again["build_plan"]["skipped"] and again["build"] is None
        assert again["exit_code"] == 0  # the bad files were rejected by the first run
        kept = _marts()

        # new events only: what depends on the web-shop source, nothing else
        shutil.copytree(later_events, events, dirs_exist_ok=True)
        events_only = _run(*both)
        assert events_only["build_plan"]["select"] == ["source:web_shop+"]
        assert events_only["build"]["success"]
        after_events = _marts()
        assert after_events["sku_sales"] == kept["sku_sales"]
        assert after_events["fact_sales"] != kept["fact_sales"]

        # a corrected ECB file: what converts with the rates is rebuilt whole, so the
        # keys no new delivery touched are converted with the new rate too
        days = query("duckdb", "select distinct report_date from marts.sku_sales "
                     "where currency_code = 'SGD'")  # fmt: skip
        (inbox / "exchange_rates").mkdir()
        quotes = "".join(f"{day},2.0,300.0,\n" for (day,) in days)  # 150 SGD per USD
        (inbox / "exchange_rates" / "corrected.csv").write_text(f"Date,USD,SGD,\n{quotes}")
        new_rates = _run(*both)
        assert new_rates["build_plan"]["select"] == ["source:ecb+"]
        assert new_rates["build_plan"]["full_refresh"] and new_rates["build"]["success"]
        converted = query("duckdb", "select gmv, gmv_usd from marts.sku_sales "
                          "where currency_code = 'SGD'")  # fmt: skip
        assert days and converted
        assert all(abs(float(gmv) / 150 - float(usd)) < 0.01 for gmv, usd in converted)
        kept = _marts()

        # corrected re-deliveries: what depends on the marketplace source
        write_redeliveries(inbox)
        marketplace_only = _run(*both)
        assert marketplace_only["build_plan"]["select"] == ["source:marketplace+"]
        partly_built = _marts()
        assert partly_built["sku_sales"] != kept["sku_sales"]

        # what the partial builds left is what building everything gives
        everything = _run(*both, "--build-all")
        assert everything["build_plan"] is None and everything["build"]["success"]
        assert _marts() == partly_built


def test_a_failed_build_makes_the_next_run_build_everything(tmp_path):
    inbox = tmp_path / "inbox"
    write_sample_inbox(inbox)
    with duckdb_env(tmp_path):
        assert _run("--inbox", str(inbox))["build"]["success"]
        # a mart broken behind dbt's back: every key twice
        execute("duckdb", "insert into marts.sku_sales select * from marts.sku_sales")
        write_redeliveries(inbox)
        # a run tests the rows its loads touched (recomputed whole, so once each) and
        # not the keys they left alone: its grain test passes ...
        scoped = _run("--inbox", str(inbox))
        assert scoped["build"]["success"] and scoped["build_plan"]["select"]
        # ... while every test on every row (make test, the nightly run) fails it
        failed = _run("--inbox", str(inbox), "--build-all", "--all-tests")
        assert failed["build"]["success"] is False and failed["exit_code"] == 1
        assert any("unique" in failure for failure in failed["build"]["failures"])
        assert build_plan.plan_build("duckdb").reason.startswith("no green build")

        execute("duckdb", "drop table marts.sku_sales cascade")  # dbt builds it again, whole
        repaired = _run("--inbox", str(inbox))
        assert repaired["build_plan"]["select"] is None and repaired["build"]["success"]
        duplicates = (
            "select count(*) from (select marketplace_code, country_code, report_date, "
            "seller_id, sku_id from marts.sku_sales group by all having count(*) > 1)"
        )
        assert query("duckdb", duplicates) == [(0,)]

        # a record left by another warehouse at this place (one dropped and made
        # again: its seeds and models are gone) is not this warehouse's record
        record = build_plan.target_path("duckdb") / build_plan.RECORD
        written = json.loads(record.read_text())
        record.write_text(json.dumps({**written, "first_load": "1700000000.0"}))
        assert "another warehouse" in build_plan.plan_build("duckdb").reason
        assert build_plan.plan_build("duckdb").select is None


def test_the_fingerprint_changes_with_any_file_dbt_builds_from(tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target"))
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", project)
    with duckdb_env(tmp_path):
        before = build_plan.fingerprint("duckdb")
        assert build_plan.fingerprint("duckdb") == before
        model = project / "models" / "marts" / "catalog" / "seller.sql"
        model.write_text(model.read_text() + "\n-- a comment is a change\n")
        assert build_plan.fingerprint("duckdb") != before
