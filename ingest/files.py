"""What every file-based dlt source here shares: list an inbox, hash, skip repeats,
stage converted rows for dlt's file import, keep a manifest, quarantine bad files.

A source supplies one `convert` function: it reads a local copy of a delivery,
hands its raw batches to the staging area and returns labels for the manifest,
or raises RejectedFile with the reason.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dlt
import fsspec
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from dlt.common.storages.configuration import FilesystemConfiguration
from dlt.common.storages.fsspec_filesystem import FileItemDict, guess_mime_type
from dlt.sources.filesystem import filesystem

from .contract import RejectedFile

QUARANTINE_DIR = "_quarantine"
LOADED, REJECTED, SKIPPED = "loaded", "rejected", "skipped"
# Rows per staged part, by format. csv: PostgreSQL runs one COPY per part on its own
# connection, so several parts keep both cores busy. parquet: DuckDB parallelises
# inside one insert, and each further insert into the same table costs more.
PART_ROWS = {"csv": 250_000, "parquet": 2_000_000}
# a delivery smaller than this is held in memory until read to the end, then shares
# staged parts with other small deliveries; a larger one streams into parts of its own
SHARED_DELIVERY_BYTES = 32 << 20
# small deliveries are gathered into row groups of about this many rows (DuckDB reads
# parquet row groups in parallel; thousands of tiny ones are slow)
SHARED_ROW_GROUP_ROWS = 100_000
READ_WORKERS = 2  # threads reading small files (the machines have 2 cores)
SAME_BYTES = "already ingested: same bytes as an earlier delivery"

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

    rows: int
    labels: dict[str, str | None] = field(default_factory=dict)  # extra manifest columns


class StagingArea:
    """Staged files (parquet for DuckDB, csv for PostgreSQL's COPY) that dlt imports as
    they are, so no row passes through Python dicts or dlt's normaliser.

    dlt pays a fixed cost per imported file, so small deliveries share parts. Each
    delivery is first staged on its own (`DeliveryStaging`, possibly in a worker
    thread) and joins the shared parts only once read to the end and accepted: a
    file rejected halfway, or a duplicate, leaves nothing behind. A large delivery
    streams into parts of its own, so memory stays bounded.
    """

    def __init__(self, workdir: Path, staged_format: str, schema: pa.Schema):
        self.workdir, self.staged_format, self.schema = workdir, staged_format, schema
        self.parts: list[tuple[Path, int]] = []  # (staged file, rows), closed parts only
        self._pending: list[pa.RecordBatch] = []  # small deliveries not yet written
        self._shared_writer = None
        self._shared_path: Path | None = None
        self._shared_rows = 0
        self._names = itertools.count()  # thread-safe: unique folder and file names

    def stage(self, batches: Iterable[pa.RecordBatch]) -> int:
        """Stage one delivery's batches and keep them; returns its row count."""
        delivery = DeliveryStaging(self)
        rows = delivery.stage(batches)
        self.commit(delivery)
        return rows

    def commit(self, delivery: DeliveryStaging) -> None:
        """Keep a staged delivery (called in delivery order, from one thread)."""
        self.parts.extend(delivery.own_parts)
        self._pending.extend(delivery.held)
        delivery.held, delivery.own_parts = [], []
        if sum(batch.num_rows for batch in self._pending) >= SHARED_ROW_GROUP_ROWS:
            self._write_pending()

    def close(self) -> list[tuple[Path, int]]:
        """Write what is pending and finish the shared part; returns every staged part."""
        self._write_pending()
        self._close_shared_part()
        return self.parts

    def write_own_parts(self, batches: Iterator[pa.RecordBatch]) -> list[tuple[Path, int]]:
        folder = self.workdir / f"delivery-{next(self._names):06d}"
        folder.mkdir(parents=True)
        return write_staged_files(batches, folder, self.staged_format, self.schema)

    def _write_pending(self) -> None:
        if not self._pending:
            return
        rows = pa.Table.from_batches(self._pending, self.schema).combine_chunks()
        self._pending = []
        if self._shared_writer is None:
            self._shared_path = (
                self.workdir / f"shared-{next(self._names):06d}.{self.staged_format}"
            )
            self._shared_writer = _staged_writer(self._shared_path, self.staged_format, self.schema)
            self._shared_rows = 0
        self._shared_writer.write_table(rows)
        self._shared_rows += rows.num_rows
        if self._shared_rows >= PART_ROWS[self.staged_format]:
            self._close_shared_part()

    def _close_shared_part(self) -> None:
        if self._shared_writer is not None:
            self._shared_writer.close()
            self.parts.append((self._shared_path, self._shared_rows))
            self._shared_writer = None


class DeliveryStaging:
    """One delivery's staged rows before the area keeps them: held in memory when
    small, streamed into parts of its own when large."""

    def __init__(self, area: StagingArea):
        self.area = area
        self.held: list[pa.RecordBatch] = []
        self.own_parts: list[tuple[Path, int]] = []

    def stage(self, batches: Iterable[pa.RecordBatch]) -> int:
        """Read the delivery's batches to the end; returns its row count."""
        batches = iter(batches)
        held_bytes = 0
        for batch in batches:
            self.held.append(batch)
            held_bytes += batch.nbytes
            if held_bytes > SHARED_DELIVERY_BYTES:
                self.own_parts = self.area.write_own_parts(
                    itertools.chain(_drain(self.held), batches)
                )
                return sum(rows for _, rows in self.own_parts)
        return sum(batch.num_rows for batch in self.held)

    def discard(self) -> None:
        for path, _ in self.own_parts:
            path.unlink(missing_ok=True)
        self.held, self.own_parts = [], []


def _drain(batches: list[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Yield and forget held batches, so they are freed once written."""
    while batches:
        yield batches.pop(0)


# (local file, name, hash, staging) -> Staged; calls staging.stage(batches) once
Converter = Callable[[Path, str, str, DeliveryStaging], Staged]


@dataclass
class Delivery:
    """One file seen in the inbox and what became of it."""

    item: FileItemDict
    file_hash: str | None = None
    status: str = LOADED
    reason: str | None = None
    staged: Staged | None = None
    labels: dict[str, str | None] = field(default_factory=dict)
    pending: DeliveryStaging | None = field(default=None, repr=False)  # rows not yet kept
    # a file left unchanged in the inbox since an earlier run: counted, not recorded
    # again (the manifest would otherwise grow with every run times every file)
    unchanged: bool = False
    # a refused entry (a link, a pipe) stays where it is: moving it is not ours to do
    movable: bool = True
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
    """Files directly in the inbox (not in sub-folders such as _quarantine), oldest first.

    A local inbox is listed without following links: a symbolic link or anything
    else that is not a regular file comes back refused (`REFUSAL` says why), so it
    is reported but never read, moved or loaded. Names starting with '.' (hidden
    files, uploads in progress) are left alone."""
    if inbox.startswith("file://"):
        items = _list_local_folder(Path(FilesystemConfiguration.make_local_path(inbox)))
    else:
        items = list(filesystem(bucket_url=inbox, file_glob=file_glob))
    return sorted(items, key=lambda item: (item["modification_date"], item["file_name"]))


REFUSAL = "refusal"  # key of a listed entry that must not be read (its reason)
SYMLINK_REFUSAL = (
    "a symbolic link: links are never followed, moved or loaded; "
    "copy the file itself into the inbox and remove the link"
)
SPECIAL_FILE_REFUSAL = "not a regular file (a pipe, socket or device): remove it from the inbox"


def _list_local_folder(folder: Path) -> list[FileItemDict]:
    local = fsspec.filesystem("file")
    items = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                refusal = SYMLINK_REFUSAL
            elif entry.is_dir(follow_symlinks=False):
                continue  # sub-folders (such as _quarantine) are not deliveries
            elif entry.is_file(follow_symlinks=False):
                refusal = None
            else:
                refusal = SPECIAL_FILE_REFUSAL
            items.append(_local_item(entry, refusal, local))
    return items


def _local_item(entry: os.DirEntry, refusal: str | None, local) -> FileItemDict:
    stat = entry.stat(follow_symlinks=False)  # of the link itself, never its target
    mime_type, encoding = guess_mime_type(entry.name)
    item = FileItemDict(
        {
            "file_name": entry.name,
            "relative_path": entry.name,
            "file_url": FilesystemConfiguration.make_file_url(entry.path),
            "mime_type": mime_type,
            "encoding": encoding,
            "modification_date": dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC),
            "size_in_bytes": stat.st_size,
        },
        local,
    )
    if refusal:
        item[REFUSAL] = refusal
    return item


@dataclass
class IngestedFiles:
    """What the manifest knows: the deliveries already loaded, and the hash of every
    file already hashed by (url, size, mtime), so an inbox of unchanged files is not
    read again on every run.

    A delivery is its bytes within a scope the file name gives: for marketplace
    files the marketplace and country (the same bytes under a name for another
    country are another delivery), for event files nothing but the bytes.
    `rehash` hashes every file again, for a file changed in place with its size and
    modification time kept (or restored)."""

    deliveries: set[tuple] = field(default_factory=set)
    hash_by_identity: dict[tuple, str] = field(default_factory=dict)
    # files rejected before and still there (a killed run did not move them, or a
    # link that is refused in place): rejected again, but listed only once
    rejected_identities: set[tuple] = field(default_factory=set)
    scope_of: Callable[[str], tuple] = lambda file_name: ()
    rehash: bool = False

    def known_hash(self, item: FileItemDict) -> str | None:
        return self.hash_by_identity.get(identity_of(item))

    def rejected_before(self, item: FileItemDict) -> bool:
        return identity_of(item) in self.rejected_identities

    def has(self, file_name: str, file_hash: str | None) -> bool:
        return file_hash is not None and self._key(file_name, file_hash) in self.deliveries

    def add(self, file_name: str, file_hash: str) -> None:
        self.deliveries.add(self._key(file_name, file_hash))

    def _key(self, file_name: str, file_hash: str) -> tuple:
        return (*self.scope_of(file_name), file_hash)


def identity_of(item: FileItemDict) -> tuple:
    return file_identity(item["file_url"], item.get("size_in_bytes"), item.get("modification_date"))


def file_identity(url: str, size: int | None, modified: dt.datetime | None) -> tuple:
    return (url, size, round(modified.timestamp(), 3) if modified else None)


def prepare_deliveries(
    items: Iterable[FileItemDict],
    ingested: IngestedFiles,
    staging: StagingArea,
    convert: Converter,
    progress: Callable[[int, int, Delivery], None] | None = None,
) -> list[Delivery]:
    """Hash, check and convert each file; a bad file is marked rejected, never raised.
    Small files are read two at a time (pyarrow releases the GIL) and kept in inbox
    order. The staging area is closed at the end: its parts are ready for dlt."""
    items = list(items)
    deliveries: list[Delivery] = []

    def read(item: FileItemDict) -> Delivery:
        return _read_one(item, ingested, staging, convert)

    for index, delivery in enumerate(_in_order(items, read), start=1):
        _settle(delivery, ingested, staging)
        deliveries.append(delivery)
        if progress:
            progress(index, len(items), delivery)
    staging.close()
    return deliveries


def _in_order(
    items: list[FileItemDict], read: Callable[[FileItemDict], Delivery]
) -> Iterator[Delivery]:
    """`read` each item, small ones in worker threads; results in item order, with
    at most a few deliveries held. A large file is read alone: its reader already
    uses every core, and two at once would double the memory."""
    window: collections.deque = collections.deque()
    with concurrent.futures.ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        for item in items:
            if (item.get("size_in_bytes") or 0) > SHARED_DELIVERY_BYTES:
                while window:
                    yield window.popleft().result()
                yield read(item)
                continue
            window.append(pool.submit(read, item))
            if len(window) > 2 * READ_WORKERS:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _read_one(
    item: FileItemDict, ingested: IngestedFiles, staging: StagingArea, convert: Converter
) -> Delivery:
    """Hash and convert one file into its own DeliveryStaging (safe in a worker thread)."""
    known_hash = ingested.known_hash(item)
    delivery = Delivery(item, file_hash=None if ingested.rehash else known_hash)
    if item.get(REFUSAL):
        delivery.status, delivery.reason, delivery.movable = REJECTED, item[REFUSAL], False
        delivery.unchanged = ingested.rejected_before(item)
        return delivery
    if ingested.has(delivery.file_name, delivery.file_hash):
        return _unchanged(delivery)
    try:
        with _local_copy(item, staging.workdir) as local_path:
            delivery.file_hash = sha256_of(local_path)
            if ingested.has(delivery.file_name, delivery.file_hash):
                if delivery.file_hash == known_hash:  # --rehash found it unchanged
                    return _unchanged(delivery)
                return _skipped(delivery, SAME_BYTES)
            delivery.pending = DeliveryStaging(staging)
            delivery.staged = convert(
                local_path, delivery.file_name, delivery.file_hash, delivery.pending
            )
        delivery.labels = delivery.staged.labels
    except RejectedFile as rejection:
        delivery.status = REJECTED
        delivery.reason = str(rejection)
        delivery.labels = rejection.labels
        delivery.staged = None
    delivery.unchanged = delivery.status == REJECTED and ingested.rejected_before(item)
    return delivery


def _settle(delivery: Delivery, ingested: IngestedFiles, staging: StagingArea) -> None:
    """In inbox order: keep an accepted delivery's rows, unless the same bytes came
    earlier in this batch."""
    pending, delivery.pending = delivery.pending, None
    if delivery.status != LOADED or pending is None:
        if pending is not None:
            pending.discard()
        return
    if ingested.has(delivery.file_name, delivery.file_hash):
        pending.discard()
        _skipped(delivery, SAME_BYTES)
        delivery.staged = None
        return
    staging.commit(pending)
    ingested.add(delivery.file_name, delivery.file_hash)


def _unchanged(delivery: Delivery) -> Delivery:
    delivery.unchanged = True
    return _skipped(delivery, "already ingested: unchanged since an earlier run")


def _skipped(delivery: Delivery, reason: str) -> Delivery:
    delivery.status, delivery.reason = SKIPPED, reason
    return delivery


@contextlib.contextmanager
def _local_copy(item: FileItemDict, workdir: Path) -> Iterator[Path]:
    """Local files are read in place; a bucket file is streamed to the work dir, read,
    and removed again."""
    if item["file_url"].startswith("file://"):
        path = Path(item.local_file_path)
        if path.is_symlink():  # swapped for a link since it was listed
            raise RejectedFile(SYMLINK_REFUSAL)
        yield path
        return
    target = workdir / f"delivered-{uuid.uuid4().hex}"
    with item.open(compression="disable") as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink, length=1 << 20)
    try:
        yield target
    finally:
        target.unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return sha256_of_stream(f)


def sha256_of_stream(stream) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def write_staged_files(
    batches: Iterator[pa.RecordBatch],
    workdir: Path,
    staged_format: str,
    schema: pa.Schema,
) -> list[tuple[Path, int]]:
    """Stream batches into files dlt can import, a new part every PART_ROWS rows."""
    rows_per_part = PART_ROWS[staged_format]
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
        # staged files live for one run on local disk: uncompressed, they are written
        # and read back fastest (snappy cost 0.3 s per 1M rows in DuckDB's insert)
        return pq.ParquetWriter(path, schema, compression="none")
    # quote only where needed: fewer bytes for COPY to parse
    return pa_csv.CSVWriter(path, schema, write_options=pa_csv.WriteOptions(quoting_style="needed"))


def staged_rows_resource(table: str, columns: dict, staging: StagingArea):
    """dlt resource importing the staged parts as they are. With none it yields an
    empty table, so dlt still creates the table."""

    @dlt.resource(name=table, write_disposition="append", columns=columns)
    def rows():
        if not staging.parts:
            yield staging.schema.empty_table()
        for path, count in staging.parts:
            yield dlt.mark.with_file_import(str(path), staging.staged_format, count)

    return rows


def to_record(deliveries: list[Delivery]) -> list[Delivery]:
    """The deliveries the manifest lists: all but files unchanged since an earlier run."""
    return [delivery for delivery in deliveries if not delivery.unchanged]


def manifest_resource(table: str, columns: dict, deliveries: list[Delivery]):
    """dlt resource with one manifest row per new file seen (an empty table when none)."""

    @dlt.resource(name=table, write_disposition="append", columns=columns)
    def manifest():
        if recorded := to_record(deliveries):
            yield [delivery.manifest_row() for delivery in recorded]
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


def quarantine(delivery: Delivery, inbox: str) -> str | None:
    """Move a rejected file into <inbox>/_quarantine/ with a .reason file beside it.
    Only a regular file directly in the inbox moves, found by its name there (never
    by a resolved link); a refused entry stays where it is. Returns where it went."""
    if not delivery.movable:
        return None
    if inbox.startswith("file://"):
        return _quarantine_local(delivery, Path(FilesystemConfiguration.make_local_path(inbox)))
    fs = delivery.item.fsspec
    source = fs._strip_protocol(delivery.item["file_url"])
    folder = fs._strip_protocol(inbox.rstrip("/")) + "/" + QUARANTINE_DIR
    fs.makedirs(folder, exist_ok=True)
    target = f"{folder}/{delivery.file_name}"
    if fs.exists(target):  # an earlier bad delivery under the same name stays too
        target = f"{folder}/{_unique_prefix(delivery)}{delivery.file_name}"
    fs.mv(source, target)
    fs.pipe_file(target + ".reason", _reason_text(delivery))
    return target


def _quarantine_local(delivery: Delivery, inbox: Path) -> str | None:
    source = inbox / delivery.file_name
    if source.is_symlink() or not source.is_file():
        return None  # replaced or removed since it was read: nothing of ours to move
    folder = inbox / QUARANTINE_DIR
    folder.mkdir(exist_ok=True)
    target = folder / delivery.file_name
    if target.exists() or target.is_symlink():
        target = folder / f"{_unique_prefix(delivery)}{delivery.file_name}"
    os.replace(source, target)
    Path(f"{target}.reason").write_bytes(_reason_text(delivery))
    return str(target)


def _unique_prefix(delivery: Delivery) -> str:
    return f"{(delivery.file_hash or uuid.uuid4().hex)[:12]}_"


def _reason_text(delivery: Delivery) -> bytes:
    return (delivery.reason or "").encode() + b"\n"
