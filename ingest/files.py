"""What every file-based dlt source here shares: list an inbox, hash, skip repeats,
stage converted rows for dlt's file import, keep a manifest, quarantine bad files.

A source supplies one `convert` function: it reads a local copy of a delivery,
writes staged parts with the raw table's columns and returns labels for the
manifest, or raises RejectedFile with the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dlt
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.sources.filesystem import filesystem

from .contract import RejectedFile

QUARANTINE_DIR = "_quarantine"
LOADED, REJECTED, SKIPPED = "loaded", "rejected", "skipped"
STAGED_PART_ROWS = 250_000

MANIFEST_COLUMNS = {
    "file_name": {"data_type": "text", "nullable": False},
    "file_url": {"data_type": "text", "nullable": False},
    "size_bytes": {"data_type": "bigint", "nullable": True},
    "file_hash": {"data_type": "text", "nullable": True},
    "modified_at": {"data_type": "timestamp", "nullable": True},
    "status": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": True},
    "row_count": {"data_type": "bigint", "nullable": True},
    "seen_at": {"data_type": "timestamp", "nullable": False},
}


@dataclass
class Staged:
    """What a converter produced for one accepted delivery."""

    parts: list[tuple[Path, int]]  # (staged file, rows)
    labels: dict[str, str | None] = field(default_factory=dict)  # extra manifest columns

    @property
    def rows(self) -> int:
        return sum(rows for _, rows in self.parts)


Converter = Callable[[Path, str, str, Path], Staged]  # (local file, name, hash, workdir)


@dataclass
class Delivery:
    """One file seen in the inbox and what became of it."""

    item: FileItemDict
    file_hash: str | None = None
    status: str = LOADED
    reason: str | None = None
    staged: Staged | None = None
    labels: dict[str, str | None] = field(default_factory=dict)
    seen_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def file_name(self) -> str:
        return self.item["file_name"]

    @property
    def row_count(self) -> int | None:
        return self.staged.rows if self.staged else None

    def manifest_row(self) -> dict:
        return {
            "file_name": self.file_name,
            "file_url": self.item["file_url"],
            "size_bytes": self.item.get("size_in_bytes"),
            "file_hash": self.file_hash,
            "modified_at": self.item.get("modification_date"),
            "status": self.status,
            "reason": self.reason,
            "row_count": self.row_count,
            "seen_at": self.seen_at,
            **self.labels,
        }


def list_inbox(inbox: str, file_glob: str = "*") -> list[FileItemDict]:
    """Files directly in the inbox (not in sub-folders such as _quarantine), oldest first."""
    items = list(filesystem(bucket_url=inbox, file_glob=file_glob))
    return sorted(items, key=lambda item: (item["modification_date"], item["file_name"]))


def prepare_deliveries(
    items: Iterable[FileItemDict],
    already_ingested: set[str],
    workdir: Path,
    convert: Converter,
    progress: Callable[[int, int, Delivery], None] | None = None,
) -> list[Delivery]:
    """Hash, check and convert each file; a bad file is marked rejected, never raised."""
    deliveries: list[Delivery] = []
    items = list(items)
    for index, item in enumerate(items, start=1):
        delivery = _prepare_one(item, already_ingested, workdir / f"{index:06d}", convert)
        if delivery.status == LOADED and delivery.file_hash:
            already_ingested.add(delivery.file_hash)  # identical bytes later in this batch
        deliveries.append(delivery)
        if progress:
            progress(index, len(items), delivery)
    return deliveries


def _prepare_one(
    item: FileItemDict, already_ingested: set[str], workdir: Path, convert: Converter
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
        delivery.staged = convert(local_path, delivery.file_name, delivery.file_hash, workdir)
        delivery.labels = delivery.staged.labels
    except RejectedFile as rejection:
        delivery.status = REJECTED
        delivery.reason = str(rejection)
        delivery.labels = rejection.labels
        delivery.staged = None
    return delivery


def _local_copy(item: FileItemDict, workdir: Path) -> Path:
    """Local files are read in place; bucket files are streamed to the work dir once."""
    if item["file_url"].startswith("file://"):
        return Path(item.local_file_path)
    target = workdir / "delivered"
    with item.open(compression="disable") as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink, length=1 << 20)
    return target


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_staged_files(
    batches: Iterator[pa.RecordBatch],
    workdir: Path,
    staged_format: str,
    schema: pa.Schema,
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
                writer, rows = _staged_writer(path, staged_format, schema), 0
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


def _staged_writer(path: Path, staged_format: str, schema: pa.Schema):
    if staged_format == "parquet":
        return pq.ParquetWriter(path, schema, compression="zstd")
    # quote only where needed: fewer bytes for COPY to parse
    return pa_csv.CSVWriter(path, schema, write_options=pa_csv.WriteOptions(quoting_style="needed"))


def staged_rows_resource(
    table: str, columns: dict, schema: pa.Schema, deliveries: list[Delivery], staged_format: str
):
    """dlt resource importing the staged parts of the accepted deliveries as they are.
    With no deliveries at all it yields an empty table, so dlt still creates it."""

    @dlt.resource(name=table, write_disposition="append", columns=columns)
    def rows():
        if not deliveries:
            yield schema.empty_table()
        for delivery in deliveries:
            if delivery.status == LOADED and delivery.staged:
                for path, count in delivery.staged.parts:
                    yield dlt.mark.with_file_import(str(path), staged_format, count)

    return rows


def manifest_resource(table: str, columns: dict, deliveries: list[Delivery]):
    """dlt resource with one manifest row per file seen (an empty table when none)."""

    @dlt.resource(name=table, write_disposition="append", columns=columns)
    def manifest():
        if deliveries:
            yield [delivery.manifest_row() for delivery in deliveries]
        else:
            yield _empty_manifest(columns)

    return manifest


def _empty_manifest(columns: dict) -> pa.Table:
    types = {"text": pa.string(), "bigint": pa.int64(), "timestamp": pa.timestamp("us", "UTC")}
    fields = [
        pa.field(name, types[column["data_type"]], nullable=column["nullable"])
        for name, column in columns.items()
    ]
    # the columns dlt adds to rows it normalises itself; staging reads the load id
    fields += [pa.field("_dlt_load_id", pa.string()), pa.field("_dlt_id", pa.string())]
    return pa.schema(fields).empty_table()


def quarantine(delivery: Delivery, inbox: str) -> str:
    """Move a rejected file into <inbox>/_quarantine/ with a .reason file beside it."""
    fs = delivery.item.fsspec
    source = fs._strip_protocol(delivery.item["file_url"])
    folder = fs._strip_protocol(inbox.rstrip("/")) + "/" + QUARANTINE_DIR
    fs.makedirs(folder, exist_ok=True)
    target = f"{folder}/{delivery.file_name}"
    if fs.exists(target):  # an earlier bad delivery under the same name stays too
        target = f"{folder}/{(delivery.file_hash or 'nohash')[:12]}_{delivery.file_name}"
    fs.mv(source, target)
    fs.pipe_file(target + ".reason", (delivery.reason or "").encode() + b"\n")
    return target
