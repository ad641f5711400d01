"""`warehouse publish`: the marts copied into a DuckDB file of their own, which BI tools
and notebooks open read-only (every green `warehouse build` on DuckDB publishes).

Write-audit-publish: dbt writes the warehouse, its data tests audit it, and only a
build whose tests all passed is published. DuckDB admits one writing process or many
reading ones per file, so a reader of the warehouse itself would stop the next run (and
a run would stop every reader); readers of the published file never meet a run. The
copy is written beside the published file and swapped in with one rename: a reader
keeps the snapshot it opened (the old file stays alive until it lets go), a new
connection sees the new one, and nobody ever sees half a copy. A failed build leaves
the last good file in place.

What is published: the schemas PostgreSQL's reporter may read (roles.READ_SCHEMAS), so
BI sees the same marts on either engine. Tables are copied with their rows inside
DuckDB; views are recreated from their SQL (attention_trailing_4h stays "as of now"),
or copied as a table of their rows where they read beyond the published schemas.
Table, view and column comments (dbt's persist_docs) come along.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ingest import settings

from .errors import UserError
from .read_marts import open_duckdb_read_only
from .roles import READ_SCHEMAS

PUBLISHED_SCHEMAS = READ_SCHEMAS["reporter"]
STORAGE_VERSION_VARIABLE = "WAREHOUSE_PUBLISH_STORAGE_VERSION"
# the form DuckDB's ATTACH takes; DuckDB itself says which releases it knows
_STORAGE_VERSION = re.compile(r"v\d+\.\d+\.\d+|latest")
_ALIAS = "publishing"  # the new file's catalog while it is written
# readers only: a client that forgets read_only cannot lock the other readers out
_READ_ONLY_MODE = 0o444


@dataclass
class PublishedRelation:
    schema: str
    name: str
    kind: str  # "table", "view", or "view as table" (a view reading unpublished schemas)
    rows: int


@dataclass
class PublishReport:
    path: Path
    relations: list[PublishedRelation] = field(default_factory=list)
    storage_version: str | None = None  # as DuckDB tags the file, e.g. "v1.0.0+"
    withheld: str | None = None  # why this run did not publish
    last_published: dt.datetime | None = None  # of the file left in place

    @property
    def published(self) -> bool:
        return self.withheld is None

    @property
    def rows(self) -> int:
        return sum(relation.rows for relation in self.relations)

    def line(self) -> str:
        if self.published:
            return (
                f"published {len(self.relations)} marts ({self.rows:,} rows) to {self.path} "
                f"(read-only; storage {self.storage_version})"
            )
        kept = (
            f"{self.path} still holds the marts published {self.last_published:%Y-%m-%d %H:%M} UTC"
            if self.last_published
            else f"there is no published file at {self.path} yet"
        )
        return f"marts not published ({self.withheld}): {kept}"

    def as_dict(self) -> dict:
        return {
            "published": self.published,
            "path": str(self.path),
            "withheld": self.withheld,
            "marts": len(self.relations),
            "rows": self.rows,
            "storage_version": self.storage_version,
            "last_published": self.last_published.isoformat(timespec="seconds")
            if self.last_published
            else None,
        }


def publish_marts(target: str, storage_version: str | None = None) -> PublishReport:
    """Copy the published schemas of the DuckDB warehouse into the published file
    (`settings.published_duckdb_path()`), replacing it whole."""
    require_duckdb(target)
    path = _published_path()
    version = _storage_version(storage_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{path.name}-", dir=path.parent) as folder:
        staging = Path(folder) / path.name
        relations, tag = _write_copy(staging, version)
        _seal(staging)
        os.replace(staging, path)  # one rename on one file system: old file or new
        _sync_folder(path.parent)
    return PublishReport(path, relations, tag)


def require_duckdb(target: str) -> None:
    if target != "duckdb":
        raise UserError(
            "publishing is for DuckDB, whose readers and writer cannot share one file",
            "on PostgreSQL, BI reads the marts as reporter (`warehouse setup-roles`)",
        )


def withhold(reason: str) -> PublishReport:
    """What readers keep when this run publishes nothing (a failed build)."""
    path = settings.published_duckdb_path()
    last = None
    if path.exists():
        last = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)
    return PublishReport(path, withheld=reason, last_published=last)


def _published_path() -> Path:
    path = settings.published_duckdb_path()
    if path.stem.lower() in PUBLISHED_SCHEMAS:
        raise UserError(
            f"the published file {path} would make DuckDB's catalog {path.stem!r} clash "
            f"with the schema {path.stem!r} (`{path.stem}.sku_sales` becomes ambiguous)",
            "name another file in WAREHOUSE_PUBLISHED_DUCKDB, e.g. warehouse_marts.duckdb",
        )
    if path == settings.duckdb_path():
        raise UserError(
            f"WAREHOUSE_PUBLISHED_DUCKDB names the warehouse file itself ({path})",
            "name a file of its own, or unset it for <warehouse>_marts.duckdb",
        )
    return path


def _storage_version(asked: str | None) -> str | None:
    """The storage version asked for (argument, else $WAREHOUSE_PUBLISH_STORAGE_VERSION);
    None: DuckDB's default for a new file."""
    version = asked or os.environ.get(STORAGE_VERSION_VARIABLE) or None
    if version is not None and not _STORAGE_VERSION.fullmatch(version):
        raise UserError(
            f"storage version {version!r} is not a DuckDB release like v1.0.0",
            f"pass the oldest DuckDB release your readers run, e.g. --storage-version v1.0.0 "
            f"(or {STORAGE_VERSION_VARIABLE}), or leave it out",
        )
    return version


def _write_copy(staging: Path, version: str | None) -> tuple[list[PublishedRelation], str]:
    """The published schemas copied into a new DuckDB file at `staging`; returns what
    it holds and the storage version DuckDB tagged it with."""
    with closing(open_duckdb_read_only(settings.duckdb_path())) as connection:
        source = connection.execute("select current_database()").fetchone()[0]
        _attach(connection, staging, version)
        try:
            relations = _copy(connection, source)
            connection.execute(f"checkpoint {_ALIAS}")  # every row in the file, none in a WAL
            (tag,) = connection.execute(
                "select tags['storage_version'] from duckdb_databases() where database_name = ?",
                [_ALIAS],
            ).fetchone()
        finally:
            connection.execute(f"use {_quoted(source)}")
            connection.execute(f"detach {_ALIAS}")
    return relations, tag


def _attach(connection, staging: Path, version: str | None) -> None:
    import duckdb

    options = "read_write"  # the warehouse connection itself is read-only
    if version is not None:
        options += f", storage_version {_literal(version)}"
    try:
        connection.execute(f"attach {_literal(str(staging))} as {_ALIAS} ({options})")
    except duckdb.InvalidInputException as error:
        raise UserError(
            f"DuckDB {duckdb.__version__} knows no storage version {version!r}",
            "name a DuckDB release such as v1.0.0 (the oldest your readers run), or 'latest'",
        ) from error


def _copy(connection, source: str) -> list[PublishedRelation]:
    tables, views = _relations(connection, source)
    if not tables and not views:
        raise UserError(
            "the duckdb warehouse has no marts yet", "run `warehouse run --target duckdb` first"
        )
    # one transaction: the tables of one snapshot of the warehouse, committed once
    with _transaction(connection):
        for schema in PUBLISHED_SCHEMAS:
            connection.execute(f"create schema {_ALIAS}.{_quoted(schema)}")
        for schema, name in tables:
            _copy_rows(connection, source, schema, name)
    kinds = {(schema, name): "table" for schema, name in tables}
    for schema, name, sql in views:
        kinds[(schema, name)] = _recreate_view(connection, source, schema, name, sql)
    _copy_comments(connection, source)
    return [
        PublishedRelation(schema, name, kind, _count(connection, schema, name))
        for (schema, name), kind in sorted(kinds.items())
    ]


def _relations(connection, source: str) -> tuple[list[tuple], list[tuple]]:
    """(schema, name) of the published schemas' tables and (schema, name, sql) of
    their views, from the warehouse's own catalog."""
    schemas = list(PUBLISHED_SCHEMAS)
    tables = connection.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = ? and list_contains(?, schema_name) order by all",
        [source, schemas],
    ).fetchall()
    views = connection.execute(
        "select schema_name, view_name, sql from duckdb_views() "
        "where database_name = ? and not internal and list_contains(?, schema_name) "
        "order by all",
        [source, schemas],
    ).fetchall()
    return tables, views


def _copy_rows(connection, source: str, schema: str, name: str) -> None:
    relation = f"{_quoted(schema)}.{_quoted(name)}"  # names the catalog gave, quoted
    connection.execute(
        f"create table {_ALIAS}.{relation} as select * from {_quoted(source)}.{relation}"  # noqa: S608
    )


def _recreate_view(connection, source: str, schema: str, name: str, sql: str) -> str:
    """The view from its own SQL (the warehouse's catalog wrote it), bound to the
    published copy; where it reads beyond the published schemas, a table of its rows."""
    import duckdb

    connection.execute(f"use {_ALIAS}")  # the view's schema.name resolve in the copy
    try:
        connection.execute(sql)
        return "view"
    except (duckdb.CatalogException, duckdb.BinderException):
        _copy_rows(connection, source, schema, name)
        return "view as table"
    finally:
        connection.execute(f"use {_quoted(source)}")


def _copy_comments(connection, source: str) -> None:
    schemas = list(PUBLISHED_SCHEMAS)
    relations = connection.execute(
        "select 'table', schema_name, table_name, comment from duckdb_tables() "
        "where database_name = ? and list_contains(?, schema_name) and comment is not null "
        "union all "
        "select 'view', schema_name, view_name, comment from duckdb_views() "
        "where database_name = ? and list_contains(?, schema_name) and comment is not null",
        [source, schemas, source, schemas],
    ).fetchall()
    columns = connection.execute(
        "select schema_name, table_name, column_name, comment from duckdb_columns() "
        "where database_name = ? and list_contains(?, schema_name) and comment is not null",
        [source, schemas],
    ).fetchall()
    # a view copied as a table takes its comment as a table
    copied_tables = set(
        connection.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ?",
            [_ALIAS],
        ).fetchall()
    )
    with _transaction(connection):
        for kind, schema, name, comment in relations:
            kind = "table" if (schema, name) in copied_tables else kind
            relation = f"{_ALIAS}.{_quoted(schema)}.{_quoted(name)}"
            connection.execute(f"comment on {kind} {relation} is {_literal(comment)}")
        for schema, name, column, comment in columns:
            relation = f"{_ALIAS}.{_quoted(schema)}.{_quoted(name)}"
            connection.execute(
                f"comment on column {relation}.{_quoted(column)} is {_literal(comment)}"
            )


@contextmanager
def _transaction(connection) -> Iterator[None]:
    connection.execute("begin transaction")
    try:
        yield
    except BaseException:
        connection.execute("rollback")  # so the connection can still detach the copy
        raise
    connection.execute("commit")


def _count(connection, schema: str, name: str) -> int:
    relation = f"{_ALIAS}.{_quoted(schema)}.{_quoted(name)}"
    return connection.execute(f"select count(*) from {relation}").fetchone()[0]  # noqa: S608


def _seal(staging: Path) -> None:
    """Read-only for everyone, and on disk before it is renamed into place."""
    os.chmod(staging, _READ_ONLY_MODE)
    with staging.open("rb") as handle:
        os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    """The rename itself on disk: a crash now leaves the new file, not the old."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
