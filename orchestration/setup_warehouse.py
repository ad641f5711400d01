"""`warehouse init`: create the warehouse (the PostgreSQL database, when the role may)
and its schemas, so the first run needs no hand-made set-up."""

from __future__ import annotations

from contextlib import closing

from ingest import settings

from .errors import UserError

# every schema the project writes: dlt's raw layer, then dbt's (generate_schema_name)
SCHEMAS = ("raw", "staging", "intermediate", "marts", "reference", "snapshots")


def init_warehouse(target: str) -> list[str]:
    """Create what is missing; returns what was done, one line each."""
    if target == "duckdb":
        return _init_duckdb()
    return _create_postgres_database() + _create_postgres_schemas()


def _init_duckdb() -> list[str]:
    import duckdb

    path = settings.duckdb_path()
    existed = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        for schema in SCHEMAS:  # constants, never data
            connection.execute(f"create schema if not exists {schema}")
    done = "found" if existed else "created"
    return [f"DuckDB file {path}: {done}", f"schemas present: {', '.join(SCHEMAS)}"]


def _create_postgres_database() -> list[str]:
    from psycopg2 import errors, sql

    from .postgres import connect

    pg = settings.postgres_settings()
    with closing(connect(database="postgres", application_name="warehouse init")) as admin:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = %s", (pg.database,))
            if cursor.fetchone():
                return [f"PostgreSQL database {pg.database} on {pg.host}:{pg.port}: found"]
            try:
                cursor.execute(sql.SQL("create database {}").format(sql.Identifier(pg.database)))
            except errors.InsufficientPrivilege:
                raise UserError(
                    f"role {pg.user!r} may not create databases on {pg.host}:{pg.port}",
                    f"ask an administrator to run: create database {pg.database} "
                    f"owner {pg.user}; then run `warehouse init --target postgres` again",
                ) from None
    return [f"PostgreSQL database {pg.database} on {pg.host}:{pg.port}: created"]


def _create_postgres_schemas() -> list[str]:
    from psycopg2 import errors, sql

    from .postgres import connect

    pg = settings.postgres_settings()
    with closing(connect(application_name="warehouse init")) as connection:
        connection.autocommit = True
        cursor = connection.cursor()
        for schema in SCHEMAS:
            try:
                cursor.execute(
                    sql.SQL("create schema if not exists {}").format(sql.Identifier(schema))
                )
            except errors.InsufficientPrivilege:
                raise UserError(
                    f"role {pg.user!r} may not create schemas in database {pg.database}",
                    f"ask an administrator to run: grant create on database {pg.database} "
                    f"to {pg.user}",
                ) from None
    return [f"schemas present: {', '.join(SCHEMAS)}"]
