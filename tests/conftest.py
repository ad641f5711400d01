"""Shared fixtures: a throw-away warehouse per test, on DuckDB or on PostgreSQL, and
for the end-to-end modules on Spark too (marked `spark`: `make test-spark`).

PostgreSQL tests create their own database and drop it afterwards; they never
touch a database they did not create. Without a server they are skipped, unless
REQUIRE_POSTGRES=1 (as in CI), which turns that into a failure. Spark runs in a
local session inside the test process (dbt's own), with its folder in the test's.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

PG_DEFAULTS = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres"}


def _pg_connect(database: str = "postgres"):
    settings = {name: os.environ.get(name, value) for name, value in PG_DEFAULTS.items()}
    return psycopg2.connect(
        host=settings["PGHOST"],
        port=int(settings["PGPORT"]),
        user=settings["PGUSER"],
        password=os.environ.get("PGPASSWORD", ""),
        dbname=database,
        connect_timeout=5,
    )


@contextmanager
def duckdb_env(folder: Path):
    """Environment for an empty DuckDB warehouse file and dlt state in `folder`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREHOUSE_DUCKDB", str(folder / "warehouse.duckdb"))
        patch.setenv("WAREHOUSE_DLT_DIR", str(folder / "dlt"))
        yield folder / "warehouse.duckdb"


@contextmanager
def postgres_env(folder: Path):
    """A PostgreSQL database created for the caller and dropped afterwards."""
    try:
        admin = _pg_connect()
    except psycopg2.OperationalError as error:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but unreachable: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    admin.autocommit = True
    name = f"warehouse_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        with pytest.MonkeyPatch.context() as patch:
            for variable, value in PG_DEFAULTS.items():
                patch.setenv(variable, os.environ.get(variable, value))
            patch.setenv("PGDATABASE", name)
            patch.setenv("WAREHOUSE_DLT_DIR", str(folder / "dlt"))
            yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
        admin.close()


@contextmanager
def spark_env(folder: Path):
    """A Spark warehouse (raw lake, tables, metastore) in `folder`. The local session
    lives in this process, like dbt's: it is stopped afterwards, so that the next
    Spark warehouse of this process opens its own metastore."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (17), which this machine does not have")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREHOUSE_SPARK_DIR", str(folder / "spark"))
        patch.delenv("WAREHOUSE_SPARK_RAW_URL", raising=False)
        patch.delenv("WAREHOUSE_SPARK_THRIFT_HOST", raising=False)
        patch.setenv("WAREHOUSE_DLT_DIR", str(folder / "dlt"))
        try:
            yield folder / "spark"
        finally:
            from pyspark.sql import SparkSession

            session = SparkSession.getActiveSession()
            if session is not None:
                session.stop()


WAREHOUSES = {"duckdb": duckdb_env, "postgres": postgres_env}
# the end-to-end modules build on Spark too; it is slow to start, so only there
END_TO_END = {**WAREHOUSES, "spark": spark_env}
END_TO_END_TARGETS = [*WAREHOUSES, pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture
def duckdb_warehouse(tmp_path: Path):
    with duckdb_env(tmp_path) as path:
        yield path


@pytest.fixture
def postgres_warehouse(tmp_path: Path):
    with postgres_env(tmp_path) as name:
        yield name


@pytest.fixture(params=list(WAREHOUSES))
def warehouse(request: pytest.FixtureRequest, tmp_path: Path):
    """Run the test once per target, in a fresh warehouse; returns the target name."""
    with WAREHOUSES[request.param](tmp_path):
        yield request.param


def skip_on_spark(target: str, reason: str) -> None:
    """For a test of something Spark's plain Parquet tables cannot do (README, "When
    you outgrow one machine"): say so instead of passing."""
    if target == "spark":
        pytest.skip(f"not on Spark's Parquet tables: {reason}")


def query(target: str, statement: str) -> list[tuple]:
    """Read from the test's warehouse (statements here are test constants)."""
    if target == "spark":
        return _spark_execute(statement)
    if target == "duckdb":
        import duckdb

        with duckdb.connect(os.environ["WAREHOUSE_DUCKDB"]) as connection:
            return connection.execute(statement).fetchall()
    with _pg_connect(os.environ["PGDATABASE"]) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        rows = cursor.fetchall()
    connection.close()
    return rows


def execute(target: str, statement: str) -> None:
    """Change the test's warehouse (statements here are test constants)."""
    if target == "spark":
        _spark_execute(statement)
        return
    if target == "duckdb":
        import duckdb

        with duckdb.connect(os.environ["WAREHOUSE_DUCKDB"]) as connection:
            connection.execute(statement)
        return
    with _pg_connect(os.environ["PGDATABASE"]) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def _spark_execute(statement: str) -> list[tuple]:
    from orchestration import spark
    from orchestration.read_marts import fetch_rows

    return fetch_rows(spark.connect(), statement)


# when a build staged a row: differs between an incremental build and a full refresh
# by design, so comparisons of the two leave it out
WATERMARK_COLUMNS = ("staged_at", "last_staged_at")


def comparable_rows(
    target: str, table: str, order_by: str, leave_out: tuple[str, ...] = ()
) -> list[tuple]:
    """Every row of `schema.table` (test constants), ordered, without watermark columns
    (nor the columns in `leave_out`)."""
    schema, name = table.split(".")
    listing = (
        f"show columns in {table}"  # Spark has no information_schema
        if target == "spark"
        else "select column_name from information_schema.columns "  # noqa: S608
        f"where table_schema = '{schema}' and table_name = '{name}' "
        "order by ordinal_position"
    )
    columns = [
        column
        for (column,) in query(target, listing)
        if column not in WATERMARK_COLUMNS + leave_out
    ]
    return query(target, f"select {', '.join(columns)} from {table} order by {order_by}")  # noqa: S608
