"""`make bench` runs once at a tiny scale in the test suite, so it cannot rot.

No timing is asserted (the machine is noisy and tiny inputs measure start-up):
only that every case ran, measured something and reported its target.
"""

import json
import os

import pytest

from bench import run


@pytest.mark.skipif(
    not run.postgres_available() and os.environ.get("REQUIRE_POSTGRES") != "1",
    reason="PostgreSQL not reachable",
)
def test_every_benchmark_case_runs_and_reports(tmp_path):
    # Spark's case runs with the Spark tests (below): it starts a JVM for each run
    local = [name for name in run.CASES if name not in SPARK_CASES]
    arguments = ["--scale", "tiny", "--repeat", "1", "--larger-size-only", "--only", *local]
    assert run.main([*arguments, "--results", str(tmp_path)]) == 0

    report = json.loads((tmp_path / "latest.json").read_text())
    cases = {result["case"]: result for result in report["results"]}
    # every case reports at least one row; some report several (+1 %, nothing new)
    assert len(cases) > len(local)
    for name, result in cases.items():
        assert result["rows"] > 0, name
        assert result["project_s"] is not None and result["project_s"] >= 0, name
        assert result["target"], name
    ratios = [r for r in cases.values() if r["raw_tool"]]
    assert len(ratios) >= 5  # csv x2, xlsx, events, incremental-vs-full
    assert all(r["raw_s"] > 0 and r["ratio"] > 0 for r in ratios)
    assert "| case |" in (tmp_path / "latest.md").read_text()


SPARK_CASES = ["full-and-incremental-spark"]


@pytest.mark.spark
def test_the_spark_benchmark_case_runs_and_reports(tmp_path):
    arguments = ["--scale", "tiny", "--repeat", "1", "--larger-size-only"]
    assert run.main([*arguments, "--only", *SPARK_CASES, "--results", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "latest.json").read_text())
    rows = {result["case"]: result for result in report["results"]}
    assert len(rows) == 3  # full run, +1 %, nothing new
    for name, result in rows.items():
        assert "Spark" in name and result["rows"] > 0 and result["project_s"] > 0, name
    nothing_new = next(r for name, r in rows.items() if "nothing new" in name)
    assert nothing_new["note"] == "nothing new, no build"
