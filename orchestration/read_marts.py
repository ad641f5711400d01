"""Connections of the commands that only read the marts (export, report): DuckDB
read-only, PostgreSQL as reporter (where setup-roles created it) in read-only
transactions, Spark through its session or Thrift server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from ingest import settings

from .errors import UserError


def open_duckdb_read_only(path: Path):
    """A read-only connection to the DuckDB file at `path`."""
    import duckdb

    if not path.exists():
        raise UserError(f"no DuckDB warehouse at {path}", "run `warehouse run` first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.ConnectionException:
        # this process has the file open already (a build ran in it: Dagster, tests);
        # DuckDB then shares that instance, as it was opened
        return duckdb.connect(str(path))


@contextmanager
def marts_connection(target: str, application_name: str) -> Iterator[object]:
    """A DB-API connection for reading the marts of the configured warehouse."""
    if target == "duckdb":
        with closing(open_duckdb_read_only(settings.duckdb_path())) as connection:
            yield connection
        return
    if target == "spark":
        from . import spark

        with closing(spark.connect()) as connection:
            yield connection
        return
    from .postgres import connect

    with closing(connect(application_name=application_name, role="reporter")) as connection:
        connection.set_session(readonly=True)
        yield connection


def fetch_rows(connection, statement: str) -> list[tuple]:
    """The rows of one query of the caller's constants (never data)."""
    cursor = connection.cursor()
    try:
        cursor.execute(statement)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def fetch_mart(connection, name: str, order_by: str) -> list[dict]:
    """Every row of marts.<name> as dicts, ordered; `name` and `order_by` are the
    caller's constants, never data."""
    cursor = connection.cursor()
    try:
        cursor.execute(f"select * from marts.{name} order by {order_by}")  # noqa: S608
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()
