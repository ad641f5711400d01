"""`warehouse export`: every mart as Parquet, partitioned by country where it has one,
with a manifest of the files and their row counts: the per-country datasets that
consumers downstream (and model training) take.

Rows stream from the engine as Arrow batches (DuckDB's own, or PostgreSQL's COPY read
by pyarrow with the column types of the catalog) into pyarrow's dataset writer, so
memory stays bounded. The export is written beside `out` and swapped in whole with
two renames: a reader of `out` never sees half of one (for an instant between the
renames there is no folder)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.dataset as pa_dataset
import pyarrow.parquet as pa_parquet

from ingest import settings

from .errors import UserError
from .read_marts import marts_connection, open_duckdb_read_only

MARTS_SCHEMA = "marts"
PARTITION_COLUMN = "country_code"
MANIFEST = "manifest.json"
BATCH_ROWS = 100_000

# PostgreSQL's types of the marts' columns, as Arrow reads them from COPY's csv
_POSTGRES_TYPES = {
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "double precision": pa.float64(),
    "real": pa.float32(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp without time zone": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "text": pa.string(),
    "character varying": pa.string(),
}


@dataclass
class ExportedMart:
    name: str
    partitioned_by: str | None
    files: list[dict] = field(default_factory=list)  # {"path", "rows"}

    @property
    def rows(self) -> int:
        return sum(item["rows"] for item in self.files)


@dataclass
class ExportReport:
    out: Path
    marts: list[ExportedMart]

    def lines(self) -> list[str]:
        files = sum(len(mart.files) for mart in self.marts)
        rows = sum(mart.rows for mart in self.marts)
        return [
            f"exported {len(self.marts)} marts: {files} Parquet files, {rows:,} rows",
            f"files and row counts: {self.out / MANIFEST}",
        ]


def export_marts(target: str, out: Path) -> ExportReport:
    """Every table and view of the marts schema into `out` (replaced whole)."""
    out = out.resolve()
    _refuse_a_folder_that_is_not_an_export(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        with _reader(target) as reader:
            marts = reader.marts()
            if not marts:
                raise UserError(
                    f"the {target} warehouse has no marts yet",
                    f"run `warehouse run --target {target}` first",
                )
            exported = [_export_mart(reader, name, staging) for name in marts]
        report = ExportReport(out, exported)
        _write_manifest(target, report, staging)
        _swap_in(staging, out)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _export_mart(reader, name: str, folder: Path) -> ExportedMart:
    batches = reader.batches(name)
    partitioned = PARTITION_COLUMN in batches.schema.names
    target = folder / name
    pa_dataset.write_dataset(
        batches,
        target,
        format="parquet",
        partitioning=[PARTITION_COLUMN] if partitioned else None,
        partitioning_flavor="hive" if partitioned else None,
        basename_template="part-{i}.parquet",
        existing_data_behavior="error",
        max_rows_per_group=BATCH_ROWS,
    )
    mart = ExportedMart(name, PARTITION_COLUMN if partitioned else None)
    files = sorted(target.rglob("*.parquet")) if target.exists() else []
    for path in files:  # counted from the files themselves, not from the engine
        rows = pa_parquet.ParquetFile(path).metadata.num_rows
        mart.files.append({"path": str(path.relative_to(folder)), "rows": rows})
    if not files:  # an empty mart: one file with its columns, so readers see the schema
        target.mkdir(parents=True, exist_ok=True)
        pa_parquet.write_table(batches.schema.empty_table(), target / "part-0.parquet")
        mart.files.append({"path": f"{name}/part-0.parquet", "rows": 0})
    return mart


def _write_manifest(target: str, report: ExportReport, folder: Path) -> None:
    manifest = {
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "warehouse": settings.describe_warehouse(target),
        "marts": [
            {
                "name": mart.name,
                "partitioned_by": mart.partitioned_by,
                "rows": mart.rows,
                "files": mart.files,
            }
            for mart in report.marts
        ],
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _refuse_a_folder_that_is_not_an_export(out: Path) -> None:
    if out.exists() and (not out.is_dir() or not (out / MANIFEST).exists() and any(out.iterdir())):
        raise UserError(
            f"{out} holds files that are not an export",
            "name an empty or new folder, or one an earlier export wrote",
        )


def _swap_in(staging: Path, out: Path) -> None:
    """The new export replaces the old one with two renames on one file system."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}-old-{staging.name}")
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _reader(target: str):
    if target == "duckdb":
        yield from _duckdb_reader()
    else:
        yield from _postgres_reader()


class _DuckDbReader:
    def __init__(self, connection) -> None:
        self.connection = connection

    def marts(self) -> list[str]:
        return _names(
            self.connection.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [MARTS_SCHEMA],
            ).fetchall()
        )

    def batches(self, name: str) -> pa.RecordBatchReader:
        relation = f"{MARTS_SCHEMA}.{_quoted(name)}"  # a name the catalog gave, quoted
        query = f"select * from {relation}"  # noqa: S608
        return self.connection.sql(query).to_arrow_reader(BATCH_ROWS)


def _duckdb_reader() -> Iterator[_DuckDbReader]:
    with closing(open_duckdb_read_only(settings.duckdb_path())) as connection:
        yield _DuckDbReader(connection)


class _PostgresReader:
    def __init__(self, connection, spool: Path) -> None:
        self.connection = connection
        self.spool = spool

    def marts(self) -> list[str]:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (MARTS_SCHEMA,),
            )
            return _names(cursor.fetchall())

    def batches(self, name: str) -> pa.RecordBatchReader:
        """COPY's csv of the mart, spooled to disk and read back in batches with the
        catalog's column types (PostgreSQL streams it; nothing is held in memory)."""
        from psycopg2 import sql

        schema = self._schema(name)
        path = self.spool / f"{len(list(self.spool.iterdir()))}.csv"
        query = sql.SQL("copy (select * from {}.{}) to stdout with (format csv)").format(
            sql.Identifier(MARTS_SCHEMA), sql.Identifier(name)
        )
        with path.open("wb") as spool, self.connection.cursor() as cursor:
            cursor.copy_expert(query.as_string(self.connection), spool)
        if path.stat().st_size == 0:  # an empty mart: pyarrow reads no csv of nothing
            return pa.RecordBatchReader.from_batches(schema, [])
        return pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=schema.names, block_size=1 << 24),
            convert_options=pa_csv.ConvertOptions(
                column_types=schema,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,  # COPY quotes an empty string, not a null
                true_values=["t"],
                false_values=["f"],
            ),
        )

    def _schema(self, name: str) -> pa.Schema:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "select column_name, data_type, numeric_precision, numeric_scale"
                " from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                (MARTS_SCHEMA, name),
            )
            columns = cursor.fetchall()
        scales = self._scales(
            name,
            [
                column
                for column, kind, precision, _ in columns
                if kind == "numeric" and precision is None
            ],
        )
        return pa.schema(
            [
                (column, _arrow_type(kind, precision, scales.get(column, scale)))
                for column, kind, precision, scale in columns
            ]
        )

    def _scales(self, name: str, columns: list[str]) -> dict[str, int]:
        """The largest scale in each numeric column declared without one (a sum, a
        ratio): the decimal type that holds its values exactly."""
        if not columns:
            return {}
        from psycopg2 import sql

        query = sql.SQL("select {} from {}.{}").format(
            sql.SQL(", ").join(
                sql.SQL("coalesce(max(scale({})), 0)").format(sql.Identifier(column))
                for column in columns
            ),
            sql.Identifier(MARTS_SCHEMA),
            sql.Identifier(name),
        )
        with self.connection.cursor() as cursor:
            cursor.execute(query)
            return dict(zip(columns, cursor.fetchone(), strict=True))


def _postgres_reader() -> Iterator[_PostgresReader]:
    with (
        tempfile.TemporaryDirectory(prefix="warehouse-export-") as spool,
        marts_connection("postgres", "warehouse export") as connection,
    ):
        yield _PostgresReader(connection, Path(spool))


def _arrow_type(data_type: str, precision: int | None, scale: int) -> pa.DataType:
    if data_type == "numeric":  # exact: money stays decimal in the files
        return pa.decimal128(precision or 38, scale or 0)
    return _POSTGRES_TYPES.get(data_type, pa.string())


def _names(rows: list[tuple]) -> list[str]:
    return sorted(name for (name,) in rows)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
