"""Set-up problems are two lines (what is wrong, what to do) and exit 1, never a
traceback; `warehouse init` and `warehouse doctor` set up and check a warehouse."""

import subprocess
import sys
import textwrap
import uuid

import pytest
from conftest import _pg_connect

from orchestration.cli import main


def _two_lines(capsys) -> str:
    """The error (progress lines of the steps before it may come first)."""
    output = capsys.readouterr().err
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    errors = [number for number, line in enumerate(lines) if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0] == len(lines) - 2, output  # what, then what to do
    return "\n".join(lines[-2:])


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PGDATABASE", "warehouse_that_does_not_exist", "warehouse init"),
        ("PGPORT", "1", "cannot reach PostgreSQL"),
        ("PGUSER", "role_that_does_not_exist", "role 'role_that_does_not_exist'"),
        ("PGPORT", "abc", "PGPORT must be a port number"),
    ],
)
def test_postgres_set_up_problems_are_one_line(variable, value, expected, monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    assert main(["build", "--target", "postgres"]) == 1
    assert expected in _two_lines(capsys)


def test_debug_shows_the_traceback(monkeypatch, capsys):
    monkeypatch.setenv("PGPORT", "abc")
    assert main(["build", "--target", "postgres", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_duckdb_file_held_by_another_program_is_named(duckdb_warehouse, tmp_path, capsys):
    import duckdb

    duckdb.connect(str(duckdb_warehouse)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, time
                connection = duckdb.connect({str(duckdb_warehouse)!r})
                print("open", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        assert main(["ingest", "--inbox", str(inbox)]) == 1
        error = _two_lines(capsys)
        assert "open in another process" in error and f"pid {holder.pid}" in error
    finally:
        holder.kill()
        holder.wait()


def test_init_creates_the_database_and_doctor_finds_it_ready(tmp_path, monkeypatch, capsys):
    try:
        admin = _pg_connect()
    except Exception as error:  # the conftest fixtures decide skip vs fail; keep it simple
        pytest.skip(f"PostgreSQL not reachable: {error}")
    admin.autocommit = True
    name = f"warehouse_test_init_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("PGDATABASE", name)
    monkeypatch.setenv("WAREHOUSE_DLT_DIR", str(tmp_path / "dlt"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    try:
        assert main(["doctor", "--target", "postgres", "--inbox", str(inbox)]) == 1
        assert "does not exist" in capsys.readouterr().out
        assert main(["init", "--target", "postgres"]) == 0
        assert "created" in capsys.readouterr().out
        assert main(["init", "--target", "postgres"]) == 0  # again: finds it, no error
        assert main(["doctor", "--target", "postgres", "--inbox", str(inbox)]) == 0
        report = capsys.readouterr().out
        assert "schemas: all present" in report and "writer lock: free" in report
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def test_a_failing_data_test_says_how_many_rows_and_where_its_query_is(duckdb_warehouse, tmp_path):
    from pathlib import Path

    from conftest import execute

    from ingest.pipeline import ingest_marketplace_files
    from orchestration.dbt_build import dbt_build

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    header = "report_date,seller_id,sku_id,units_sold,gmv"
    (inbox / "GDN_SG_day.csv").write_text(f"{header}\n2026-11-01,S1,K1,3,30\n")
    ingest_marketplace_files(str(inbox), "duckdb", quiet=True)
    assert dbt_build("duckdb", quiet=True).success
    # a duplicated key, as a broken hand edit would leave it (incremental runs keep it)
    execute("duckdb", "insert into marts.sku_sales select * from marts.sku_sales")

    build = dbt_build("duckdb", ["--select", "sku_sales"], quiet=True)

    assert not build.success
    failure = next(line for line in build.failures if "unique_combination" in line)
    assert "1 row(s) break it" in failure
    query_file = Path(failure.split("its query lists them: ")[1])
    assert query_file.is_file() and "sku_sales" in query_file.read_text()


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (
            "Compilation Error\n  dbt found two schema.yml entries for the same macro\n  more",
            "Compilation Error: dbt found two schema.yml entries for the same macro",
        ),
        (
            "Database Error in model dim_customer (models/marts/core/dim_customer.sql)\n"
            "  relation raw.shop_events does not exist\n  LINE 3",
            "Database Error in model dim_customer (models/marts/core/dim_customer.sql): "
            "relation raw.shop_events does not exist",
        ),
        (  # dbt-spark: a second bare title, a blank line, then Spark's words
            "Runtime Error in model sku (models/marts/catalog/sku.sql)\n  Runtime Error\n  \n"
            '  [DATATYPE_MISSING_SIZE] DataType "VARCHAR" requires a length parameter',
            "Runtime Error in model sku (models/marts/catalog/sku.sql): "
            '[DATATYPE_MISSING_SIZE] DataType "VARCHAR" requires a length parameter',
        ),
        ("relation raw.x does not exist\nLINE 3", "relation raw.x does not exist"),
    ],
)
def test_a_dbt_error_is_told_by_the_line_that_says_what_is_wrong(message, line):
    # dbt's errors open with a bare title; the summary's one line must say the cause
    from orchestration.dbt_build import _first_line

    assert _first_line(message) == line
