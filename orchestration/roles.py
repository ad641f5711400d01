"""`warehouse setup-roles`: the PostgreSQL roles each part of the warehouse logs in as.

- loader owns `raw` (and dlt's `raw_staging`): the ingest writes there and nowhere else.
- transformer reads `raw` and owns dbt's schemas (staging, intermediate, marts,
  snapshots, reference), so dbt builds, comments on and replaces what is its own.
- reporter reads `marts` and nothing else: BI tools and analysts, on the primary or a
  replica. dbt's `grants` config keeps its `select` on every mart dbt rebuilds.

Idempotent: each run sets the privileges to exactly these, revoking what else a role
was given on these schemas. Passwords come from WAREHOUSE_<ROLE>_PASSWORD and reach
the server only as SCRAM verifiers (hashed here), so no log sees them.
"""

from __future__ import annotations

from contextlib import closing

from ingest import settings

from .errors import UserError
from .setup_warehouse import SCHEMAS

LOADER_SCHEMAS = ("raw", "raw_staging")  # raw_staging: dlt's merge stage (ECB rates)
TRANSFORMER_SCHEMAS = tuple(schema for schema in SCHEMAS if schema != "raw")
READ_SCHEMAS = {"loader": (), "transformer": ("raw",), "reporter": ("marts",)}


def setup_roles(target: str) -> list[str]:
    """Create or update the three roles and their privileges in an existing warehouse
    database (`warehouse init`); one line per step."""
    if target != "postgres":
        raise UserError(
            "roles are a PostgreSQL feature; a DuckDB warehouse is one file",
            "use --target postgres; BI on DuckDB reads the published marts file",
        )
    from psycopg2 import errors

    from .postgres import connect

    pg = settings.postgres_settings()
    done = []
    with closing(connect(application_name="warehouse setup-roles")) as connection:
        connection.autocommit = False  # all of it or nothing
        try:
            with connection.cursor() as cursor:
                done += [_ensure_role(cursor, role) for role in settings.ROLES]
                _grant_connect(cursor, pg.database)
                done += _hand_over_schemas(cursor)
                done += _grant_reads(cursor)
            connection.commit()
        except errors.InsufficientPrivilege as error:
            raise UserError(
                f"role {pg.user!r} may not manage roles and grants: {error.pgerror.strip()}",
                "run `warehouse setup-roles` as a superuser (PGUSER=postgres) or the "
                "database owner with CREATEROLE",
            ) from None
    return done


def _ensure_role(cursor, role: str) -> str:
    from psycopg2 import sql
    from psycopg2.extensions import encrypt_password

    name = settings.role_name(role)
    cursor.execute("select rolsuper from pg_roles where rolname = %s", (name,))
    found = cursor.fetchone()
    existed = found is not None
    if (existed and found[0]) or name == settings.postgres_settings().user:
        raise UserError(
            f"role {name!r} is a superuser or the one running setup-roles; it cannot be {role}",
            f"set WAREHOUSE_{role.upper()}_ROLE to a role of its own, e.g. {role}",
        )
    # no superuser, no createdb/createrole, no inheritance: only its own grants
    verb = "alter" if existed else "create"
    cursor.execute(
        sql.SQL(verb + " role {} login nosuperuser nocreatedb nocreaterole noinherit").format(
            sql.Identifier(name)
        )
    )
    password = settings.role_password(role)
    variable = f"WAREHOUSE_{role.upper()}_PASSWORD"
    if password:
        verifier = encrypt_password(password, name, cursor.connection, "scram-sha-256")
        cursor.execute(
            sql.SQL("alter role {} password {}").format(sql.Identifier(name), sql.Literal(verifier))
        )
        how = f"password from {variable}"
    else:
        how = f"no password ({variable} unset): logs in only where pg_hba.conf trusts it"
    return f"role {name} ({role}): {'found' if existed else 'created'}, {how}"


def _grant_connect(cursor, database: str) -> None:
    from psycopg2 import sql

    cursor.execute(
        sql.SQL("grant connect on database {} to {}").format(
            sql.Identifier(database), _role_list(settings.ROLES)
        )
    )


def _hand_over_schemas(cursor) -> list[str]:
    """loader owns its schemas, transformer dbt's, each with everything in them: dlt
    and dbt alter, replace and comment on their tables, which only an owner may."""
    lines = []
    for role, schemas in (("loader", LOADER_SCHEMAS), ("transformer", TRANSFORMER_SCHEMAS)):
        for schema in schemas:
            moved = _own_schema(cursor, schema, settings.role_name(role))
            lines.append(f"schema {schema}: owned by {settings.role_name(role)} ({moved} objects)")
    return lines


def _own_schema(cursor, schema: str, owner: str) -> int:
    from psycopg2 import sql

    cursor.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    cursor.execute(
        sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), sql.Identifier(owner))
    )
    # names read from the catalog, quoted as identifiers; sequences a table owns
    # (serial, identity) move with their table
    cursor.execute(
        "select c.relname, c.relkind from pg_class as c "
        "inner join pg_namespace as n on c.relnamespace = n.oid "
        "where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') "
        "and not exists (select 1 from pg_depend as d where d.objid = c.oid "
        "and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i') "
        "and c.relkind = 'S')",
        (schema,),
    )
    kinds = {"v": "view", "m": "materialized view", "S": "sequence"}
    objects = cursor.fetchall()
    for name, kind in objects:
        cursor.execute(
            sql.SQL("alter " + kinds.get(kind, "table") + " {}.{} owner to {}").format(
                sql.Identifier(schema), sql.Identifier(name), sql.Identifier(owner)
            )
        )
    return len(objects)


def _grant_reads(cursor) -> list[str]:
    """Each role reads exactly its READ_SCHEMAS; what else it had there is revoked."""
    from psycopg2 import sql

    lines = []
    for role in settings.ROLES:
        name = sql.Identifier(settings.role_name(role))
        for schema in (*LOADER_SCHEMAS, *TRANSFORMER_SCHEMAS):
            if _owner_role(schema) == role:
                continue
            schema_id = sql.Identifier(schema)
            cursor.execute(
                sql.SQL("revoke all on all tables in schema {} from {}").format(schema_id, name)
            )
            cursor.execute(sql.SQL("revoke all on schema {} from {}").format(schema_id, name))
        for schema in READ_SCHEMAS[role]:
            schema_id = sql.Identifier(schema)
            cursor.execute(sql.SQL("grant usage on schema {} to {}").format(schema_id, name))
            cursor.execute(
                sql.SQL("grant select on all tables in schema {} to {}").format(schema_id, name)
            )
            if schema in LOADER_SCHEMAS:
                # the tables dlt creates later are readable at once; the marts dbt
                # builds are granted by dbt itself (`grants` in dbt_project.yml)
                cursor.execute(
                    sql.SQL(
                        "alter default privileges for role {} in schema {} "
                        "grant select on tables to {}"
                    ).format(sql.Identifier(settings.role_name("loader")), schema_id, name)
                )
        reads = ", ".join(READ_SCHEMAS[role]) or "nothing"
        lines.append(f"role {settings.role_name(role)} reads: {reads}")
    return lines


def _owner_role(schema: str) -> str:
    return "loader" if schema in LOADER_SCHEMAS else "transformer"


def _role_list(roles) -> object:
    from psycopg2 import sql

    return sql.SQL(", ").join(sql.Identifier(settings.role_name(role)) for role in roles)
