"""dlt source: marketplace delivery files from an inbox into `raw`.

Two tables land per run, in one load package (one load id):

- `marketplace_sales_rows`: every delivered row as text, with lineage;
- `marketplace_files`: the manifest, one row per file seen (loaded / rejected /
  skipped as already ingested) with its size, hash, mtime and reason.

Each accepted file is converted once into a staged file with the raw table's
columns (parquet for DuckDB, csv for PostgreSQL's COPY) and handed to dlt as a
file import, so no rows pass through Python dicts or dlt's normaliser.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dlt
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.sources.filesystem import filesystem

from .contract import (
    RAW_TEXT_COLUMNS,
    ROW_NUMBER_FIELD,
    RejectedFile,
    parse_delivery_name,
)
from .readers import RAW_SCHEMA, Lineage, read_delivery, sha256_of

SALES_ROWS_TABLE = "marketplace_sales_rows"
MANIFEST_TABLE = "marketplace_files"
QUARANTINE_DIR = "_quarantine"

LOADED, REJECTED, SKIPPED = "loaded", "rejected", "skipped"
STAGED_PART_ROWS = 250_000

SALES_ROWS_COLUMNS = {
    **{name: {"data_type": "text", "nullable": True} for name in RAW_TEXT_COLUMNS},
    ROW_NUMBER_FIELD: {"data_type": "bigint", "nullable": False},
}
MANIFEST_COLUMNS = {
    "file_name": {"data_type": "text", "nullable": False},
    "file_url": {"data_type": "text", "nullable": False},
    "size_bytes": {"data_type": "bigint", "nullable": True},
    "file_hash": {"data_type": "text", "nullable": True},
    "modified_at": {"data_type": "timestamp", "nullable": True},
    "marketplace_code": {"data_type": "text", "nullable": True},
    "country_code": {"data_type": "text", "nullable": True},
    "status": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": True},
    "row_count": {"data_type": "bigint", "nullable": True},
    "seen_at": {"data_type": "timestamp", "nullable": False},
}


@dataclass
class Delivery:
    """One file seen in the inbox and what became of it."""

    item: FileItemDict
    file_hash: str | None = None
    status: str = LOADED
    reason: str | None = None
    marketplace_code: str | None = None
    country_code: str | None = None
    row_count: int | None = None
    staged_parts: list[tuple[Path, int]] = field(default_factory=list)  # (file, rows)
    seen_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def file_name(self) -> str:
        return self.item["file_name"]

    def manifest_row(self) -> dict:
        return {
            "file_name": self.file_name,
            "file_url": self.item["file_url"],
            "size_bytes": self.item.get("size_in_bytes"),
            "file_hash": self.file_hash,
            "modified_at": self.item.get("modification_date"),
            "marketplace_code": self.marketplace_code,
            "country_code": self.country_code,
            "status": self.status,
            "reason": self.reason,
            "row_count": self.row_count,
            "seen_at": self.seen_at,
        }


def list_inbox(inbox: str) -> list[FileItemDict]:
    """Files directly in the inbox (not in sub-folders such as _quarantine), oldest first."""
    items = list(filesystem(bucket_url=inbox, file_glob="*"))
    return sorted(items, key=lambda item: (item["modification_date"], item["file_name"]))


def prepare_deliveries(
    items: Iterable[FileItemDict],
    already_ingested: set[str],
    workdir: Path,
    staged_format: str,
    progress=None,
) -> list[Delivery]:
    """Hash, check and convert each file; a bad file is marked rejected, never raised."""
    deliveries: list[Delivery] = []
    items = list(items)
    for index, item in enumerate(items, start=1):
        delivery = _prepare_one(item, already_ingested, workdir / f"{index:06d}", staged_format)
        if delivery.status == LOADED and delivery.file_hash:
            already_ingested.add(delivery.file_hash)  # identical bytes later in this batch
        deliveries.append(delivery)
        if progress:
            progress(index, len(items), delivery)
    return deliveries


def _prepare_one(
    item: FileItemDict, already_ingested: set[str], workdir: Path, staged_format: str
) -> Delivery:
    delivery = Delivery(item)
    workdir.mkdir(parents=True)
    try:
        local_path = _local_copy(item, workdir)
        delivery.file_hash = sha256_of(local_path)
        if delivery.file_hash in already_ingested:
            delivery.status = SKIPPED
            delivery.reason = "already ingested: same bytes as an earlier delivery"
            return delivery
        name = parse_delivery_name(delivery.file_name)
        delivery.marketplace_code, delivery.country_code = name.marketplace_code, name.country_code
        batches = read_delivery(
            local_path, name.extension, Lineage(delivery.file_name, delivery.file_hash)
        )
        delivery.staged_parts = write_staged_files(batches, workdir, staged_format)
        delivery.row_count = sum(rows for _, rows in delivery.staged_parts)
    except RejectedFile as rejection:
        delivery.status = REJECTED
        delivery.reason = str(rejection)
        delivery.staged_parts = []
    return delivery


def _local_copy(item: FileItemDict, workdir: Path) -> Path:
    """Local files are read in place; bucket files are streamed to the work dir once."""
    if item["file_url"].startswith("file://"):
        return Path(item.local_file_path)
    target = workdir / "delivered"
    with item.open(compression="disable") as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink, length=1 << 20)
    return target


def write_staged_files(
    batches: Iterator[pa.RecordBatch],
    workdir: Path,
    staged_format: str,
    rows_per_part: int | None = None,
) -> list[tuple[Path, int]]:
    """Stream batches into files dlt can import, a new part every `rows_per_part` rows
    (dlt loads parts in parallel: several COPYs keep both cores busy)."""
    rows_per_part = rows_per_part or STAGED_PART_ROWS
    parts: list[tuple[Path, int]] = []
    writer, rows = None, 0
    try:
        for batch in batches:
            if writer is None:
                path = workdir / f"part-{len(parts):04d}.{staged_format}"
                writer, rows = _staged_writer(path, staged_format), 0
            writer.write_batch(batch)
            rows += batch.num_rows
            if rows >= rows_per_part:
                writer.close()
                parts.append((path, rows))
                writer = None
        if writer is not None:
            writer.close()
            parts.append((path, rows))
    except BaseException:
        if writer is not None:
            writer.close()
        for staged in workdir.glob(f"part-*.{staged_format}"):
            staged.unlink()
        raise
    return [(path, rows) for path, rows in parts if rows]


def _staged_writer(path: Path, staged_format: str):
    if staged_format == "parquet":
        return pq.ParquetWriter(path, RAW_SCHEMA, compression="zstd")
    # quote only where needed: fewer bytes for COPY to parse
    return pa_csv.CSVWriter(
        path, RAW_SCHEMA, write_options=pa_csv.WriteOptions(quoting_style="needed")
    )


@dlt.source(name="marketplace", max_table_nesting=0)
def marketplace_source(deliveries: list[Delivery], staged_format: str):
    """The rows of accepted deliveries and the manifest of every file seen."""

    @dlt.resource(name=SALES_ROWS_TABLE, write_disposition="append", columns=SALES_ROWS_COLUMNS)
    def sales_rows():
        for delivery in deliveries:
            if delivery.status == LOADED:
                for path, rows in delivery.staged_parts:
                    yield dlt.mark.with_file_import(str(path), staged_format, rows)

    @dlt.resource(name=MANIFEST_TABLE, write_disposition="append", columns=MANIFEST_COLUMNS)
    def manifest():
        yield [delivery.manifest_row() for delivery in deliveries]

    return sales_rows, manifest


def quarantine(delivery: Delivery, inbox: str) -> str:
    """Move a rejected file into <inbox>/_quarantine/ with a .reason file beside it."""
    fs = delivery.item.fsspec
    source = _fs_path(delivery.item["file_url"], fs)
    folder = _fs_path(inbox.rstrip("/"), fs) + "/" + QUARANTINE_DIR
    fs.makedirs(folder, exist_ok=True)
    target = f"{folder}/{delivery.file_name}"
    if fs.exists(target):  # an earlier bad delivery under the same name stays too
        target = f"{folder}/{(delivery.file_hash or 'nohash')[:12]}_{delivery.file_name}"
    fs.mv(source, target)
    fs.pipe_file(target + ".reason", (delivery.reason or "").encode() + b"\n")
    return target


def _fs_path(url: str, fs) -> str:
    return fs._strip_protocol(url)
