"""Connections of the orchestration itself (lock, init, doctor) to the warehouse
database; dlt and dbt open their own from the same settings."""

from __future__ import annotations

from ingest import settings


def connect(
    database: str | None = None, application_name: str = "warehouse", role: str | None = None
):
    """A psycopg2 connection to the warehouse database (or `database`), 5 s timeout, as
    PGUSER or, where setup-roles created it, as `role`."""
    import psycopg2

    from ingest.roles import login_for

    pg = settings.postgres_settings() if role is None else login_for(role)
    return psycopg2.connect(
        host=pg.host,
        port=pg.port,
        user=pg.user,
        password=pg.password,
        dbname=database or pg.database,
        connect_timeout=5,
        application_name=application_name,
    )
