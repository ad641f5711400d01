"""The published marts file (orchestration/publish.py), DuckDB only: a green build copies
every mart into a read-only file of its own; a reader of that file never stops a run and
keeps its snapshot; a failed build leaves the last good file untouched; the storage
version can be the one older readers need.

One warehouse for the module (each dbt build takes a while). The tests run in file
order: the failing build leaves the warehouse broken, so only tests that build nothing
follow it."""

from __future__ import annotations

import contextlib
import io
import json
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import duckdb_env, execute

from ingest import settings
from orchestration.cli import main as cli_main
from orchestration.errors import UserError
from orchestration.publish import publish_marts

HEADER = "report_date,seller_id,sku_id,units_sold,gmv"
# a reader process holding the published file open: one count now, one after a line on stdin
READER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
count = "select count(*) from marts.sku_sales"
print(connection.execute(count).fetchone()[0], flush=True)
sys.stdin.readline()
print(connection.execute(count).fetchone()[0], flush=True)
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """A warehouse after one green `warehouse run` of a one-line delivery; its inbox."""
    folder = tmp_path_factory.mktemp("publish")
    inbox = folder / "inbox"
    inbox.mkdir()
    (inbox / "GDN_SG_day.csv").write_text(f"{HEADER}\n2026-10-01,S1,K1,3,30\n")
    with duckdb_env(folder), pytest.MonkeyPatch.context() as patch:
        patch.delenv("WAREHOUSE_PUBLISHED_DUCKDB", raising=False)
        patch.delenv("WAREHOUSE_PUBLISH_STORAGE_VERSION", raising=False)
        exit_code, summary = _run(inbox)
        assert exit_code == 0, summary
        yield inbox


def _run(inbox: Path, *options: str) -> tuple[int, dict]:
    """`warehouse run` in this process; its exit code and JSON summary."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exit_code = cli_main(["run", "--inbox", str(inbox), "--quiet", "--json", *options])
    return exit_code, json.loads(out.getvalue())


def _counts(path: Path) -> dict[str, int]:
    """Rows of every table and view in marts, read from the file at `path` read-only."""
    with duckdb.connect(str(path), read_only=True) as connection:
        names = connection.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
        return {
            name: connection.execute(f'select count(*) from marts."{name}"').fetchone()[0]  # noqa: S608
            for (name,) in names
        }


def _warehouse_counts() -> dict[str, int]:
    # through the build's own DuckDB instance where this process still holds it
    from orchestration.read_marts import open_duckdb_read_only

    with contextlib.closing(open_duckdb_read_only(settings.duckdb_path())) as connection:
        names = connection.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and table_catalog = current_database()"
        ).fetchall()
        return {
            name: connection.execute(f'select count(*) from marts."{name}"').fetchone()[0]  # noqa: S608
            for (name,) in names
        }


def test_a_green_build_publishes_every_mart_read_only_with_its_rows(warehouse):
    published = settings.published_duckdb_path()
    assert published == settings.duckdb_path().with_name("warehouse_marts.duckdb")
    counts = _counts(published)
    assert counts == _warehouse_counts()
    assert "sku_sales" in counts and "attention_trailing_4h" in counts  # tables and the view
    assert counts["sku_sales"] == 1
    assert not stat.S_IMODE(published.stat().st_mode) & 0o222  # nobody writes into it
    with duckdb.connect(str(published), read_only=True) as connection:
        (views,) = connection.execute(
            "select count(*) from duckdb_views() where schema_name = 'marts'"
        ).fetchone()
        (uncommented,) = connection.execute(
            "select count(*) from duckdb_columns() where schema_name = 'marts' and comment is null"
        ).fetchone()
    assert views == 1  # attention_trailing_4h stays a view ("as of now")
    assert uncommented == 0  # dbt's column descriptions came along
    assert not list(published.parent.glob(f".{published.name}-*"))  # no copy left aside


def test_the_storage_version_asked_for_is_the_file_s(warehouse):
    report = publish_marts("duckdb", storage_version="v1.0.0")
    with duckdb.connect(str(report.path), read_only=True) as connection:
        (tag,) = connection.execute(
            "select tags['storage_version'] from duckdb_databases() "
            "where database_name = current_database()"
        ).fetchone()
    assert tag == report.storage_version == "v1.0.0+"
    header = report.path.read_bytes()[:20]
    # the main header: checksum, "DUCK", then the storage format number DuckDB 1.0 reads
    assert header[8:12] == b"DUCK"
    assert int.from_bytes(header[12:20], "little") == 64


def test_a_reader_of_the_published_file_never_stops_a_run_and_keeps_its_snapshot(warehouse):
    published = settings.published_duckdb_path()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        before = int(reader.stdout.readline())
        (warehouse / "GDN_SG_day2.csv").write_text(f"{HEADER}\n2026-10-02,S1,K2,1,10\n")
        exit_code, summary = _run(warehouse)
        reader.stdin.write("\n")
        reader.stdin.flush()
        still = int(reader.stdout.readline())
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert exit_code == 0, summary
    assert summary["published"]["published"] is True
    assert still == before == 1  # the reader's snapshot, though the file was replaced
    assert _counts(published)["sku_sales"] == 2  # a new connection sees the new marts
    assert reader.returncode == 0


def test_a_failed_build_leaves_the_last_good_file_and_says_so(warehouse, capsys):
    published = settings.published_duckdb_path()
    last_good = published.read_bytes()
    # a mart broken behind dbt's back: its grain test fails the build
    execute("duckdb", "insert into marts.sku_sales select * from marts.sku_sales")
    exit_code = cli_main(["build", "--quiet"])
    out = capsys.readouterr().out
    assert exit_code == 1
    assert published.read_bytes() == last_good
    (line,) = [line for line in out.splitlines() if "not published" in line]
    assert line.strip().startswith("marts not published (the build failed):")
    assert f"{published} still holds the marts published" in line


def test_a_view_that_reads_beyond_the_marts_is_published_as_a_table_of_its_rows(warehouse):
    # behind dbt's back: a view the published file could not resolve
    execute(
        "duckdb",
        "create or replace view marts.rate_count as "
        "select count(*) as rates from raw.ecb_euro_reference_rates",
    )
    report = publish_marts("duckdb")
    (copied,) = [relation for relation in report.relations if relation.name == "rate_count"]
    assert copied.kind == "view as table"
    with duckdb.connect(str(report.path), read_only=True) as connection:
        (rates,) = connection.execute("select rates from marts.rate_count").fetchone()
    assert rates > 0


def test_a_published_file_named_after_a_schema_is_refused(warehouse, monkeypatch):
    # DuckDB names the catalog after the file: `marts.sku_sales` would be ambiguous
    monkeypatch.setenv("WAREHOUSE_PUBLISHED_DUCKDB", str(warehouse.parent / "marts.duckdb"))
    with pytest.raises(UserError, match="ambiguous"):
        publish_marts("duckdb")
    assert not (warehouse.parent / "marts.duckdb").exists()
