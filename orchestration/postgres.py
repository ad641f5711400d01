"""Connections of the orchestration itself (lock, init, doctor) to the warehouse
database; dlt and dbt open their own from the same settings."""

from __future__ import annotations

from ingest import settings


def connect(database: str | None = None, application_name: str = "warehouse"):
    """A psycopg2 connection to the warehouse database (or `database`), 5 s timeout."""
    import psycopg2

    pg = settings.postgres_settings()
    return psycopg2.connect(
        host=pg.host,
        port=pg.port,
        user=pg.user,
        password=pg.password,
        dbname=database or pg.database,
        connect_timeout=5,
        application_name=application_name,
    )
