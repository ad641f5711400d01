"""Which login each part of the warehouse uses on PostgreSQL.

Once `warehouse setup-roles` has created them, the ingest logs in as `loader`, dbt as
`transformer` and the readers (summaries, exports, BI) as `reporter`; before that,
everything runs as PGUSER, as it always did.
"""

from __future__ import annotations

from contextlib import closing

from . import settings


def existing_roles() -> set[str]:
    """The ROLES (loader, transformer, reporter) whose PostgreSQL role exists and may
    log in; none when `WAREHOUSE_ROLES=off`."""
    if not settings.roles_wanted():
        return set()
    import psycopg2

    names = {settings.role_name(role): role for role in settings.ROLES}
    pg = settings.postgres_settings()
    with (
        closing(
            psycopg2.connect(
                host=pg.host,
                port=pg.port,
                user=pg.user,
                password=pg.password,
                dbname=pg.database,
                connect_timeout=5,
                application_name="warehouse roles",
            )
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "select rolname from pg_roles where rolcanlogin and rolname = any(%s)",
            (list(names),),
        )
        return {names[name] for (name,) in cursor.fetchall()}


def login_for(role: str) -> settings.PostgresSettings:
    """The role's login where it exists, else PGUSER's."""
    if role in existing_roles():
        return settings.postgres_settings(role)
    return settings.postgres_settings()
