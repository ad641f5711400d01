"""A warehouse built before staging was split upgrades itself on its next build.

Until then stg_marketplace__sales_rows and stg_web_shop__events were incremental
tables that also picked new completed deliveries and stamped staged_at; now they
are views and int_sales_rows_landed / int_shop_events_landed do that. A warehouse
built by that older dbt project (taken from git history) gets new deliveries and
one build of the current project: the old tables become views, the landed models
fill from raw, and every incremental model ends up equal to a full refresh.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import WATERMARK_COLUMNS, query

from ingest import settings
from ingest.pipeline import ingest_event_files, ingest_marketplace_files
from orchestration.dbt_build import dbt_build
from samples.events import EventConfig, write_events
from samples.marketplace_files import write_redeliveries, write_sample_inbox

# the last commit whose staging models were incremental tables
BEFORE_THE_SPLIT = "6d066f91f24e76b13992399a677abf43339449cf"
ROOT = Path(__file__).resolve().parents[1]
SPLIT = {
    "staging.stg_marketplace__sales_rows": "VIEW",
    "staging.stg_web_shop__events": "VIEW",
    "intermediate.int_sales_rows_landed": "BASE TABLE",
    "intermediate.int_shop_events_landed": "BASE TABLE",
}


@pytest.fixture
def older_project(tmp_path: Path) -> Path:
    """The dbt project as it was before the split, in a folder of its own."""
    if shutil.which("git") is None:
        pytest.skip("needs git to read the older dbt project")
    present = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{BEFORE_THE_SPLIT}^{{commit}}"],
        capture_output=True,
    )
    if present.returncode != 0:
        pytest.skip(f"needs the git history (commit {BEFORE_THE_SPLIT[:7]}); a shallow clone?")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BEFORE_THE_SPLIT, "dbt_project"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp_path / "older", filter="data")
    return tmp_path / "older" / "dbt_project"


def _build(target: str, *args: str) -> None:
    build = dbt_build(target, list(args), quiet=True)
    assert build.success, build.lines()


def _relation_types(target: str) -> dict[str, str]:
    rows = query(
        target,
        "select table_schema || '.' || table_name, table_type from information_schema.tables "
        "where table_schema in ('staging', 'intermediate')",
    )
    return {name: kind for name, kind in rows if name in SPLIT}


def _incremental_models(target: str) -> dict[str, list[tuple]]:
    """Every table downstream of staging (marts and the incremental intermediate
    models), all rows ordered by all columns, without the watermark columns."""
    tables = [
        f"{schema}.{name}"
        for schema, name in query(
            target,
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema in ('marts', 'intermediate')",
        )
    ]
    snapshot = {}
    for table in sorted(tables):
        schema, name = table.split(".")
        columns = [
            column
            for (column,) in query(
                target,
                "select column_name from information_schema.columns "  # noqa: S608
                f"where table_schema = '{schema}' and table_name = '{name}' "
                "order by ordinal_position",
            )
            if column not in WATERMARK_COLUMNS
        ]
        positions = ", ".join(str(number) for number in range(1, len(columns) + 1))
        snapshot[table] = query(
            target,
            f"select {', '.join(columns)} from {table} order by {positions}",  # noqa: S608
        )
    return snapshot


def test_a_warehouse_built_before_the_split_upgrades_on_its_next_build(
    warehouse, tmp_path, monkeypatch, older_project
):
    inbox, events = tmp_path / "inbox", tmp_path / "events"
    generated = sorted(
        write_events(EventConfig(customers=60, days=2), tmp_path / "generated", progress=False)
    )
    half = len(generated) // 2

    # built by the older project: staging tables stamped, marts built from them
    write_sample_inbox(inbox, rows_per_file=40)
    events.mkdir()
    for path in generated[:half]:
        shutil.copy(path, events)
    ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    ingest_event_files(str(events), warehouse, quiet=True)
    current_project = settings.DBT_PROJECT_DIR
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", older_project)
    _build(warehouse)
    assert _relation_types(warehouse) == {
        "staging.stg_marketplace__sales_rows": "BASE TABLE",
        "staging.stg_web_shop__events": "BASE TABLE",
    }

    # new deliveries, then the next build with the current project
    write_redeliveries(inbox, rows_per_file=40)
    for path in generated[half:]:
        shutil.copy(path, events)
    ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    ingest_event_files(str(events), warehouse, quiet=True)
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", current_project)
    _build(warehouse)
    assert _relation_types(warehouse) == SPLIT
    upgraded = _incremental_models(warehouse)
    assert upgraded["marts.sku_sales"] and upgraded["marts.fact_sales"]

    _build(warehouse, "--full-refresh")
    refreshed = _incremental_models(warehouse)
    assert refreshed.keys() == upgraded.keys()
    for table, rows in refreshed.items():
        assert rows == upgraded[table], table
