"""dlt source: marketplace delivery files from an inbox into `raw`.

Two tables land per run, in one load package (one load id):

- `marketplace_sales_rows`: every delivered row as text, with lineage;
- `marketplace_files`: the manifest, one row per file seen (loaded / rejected /
  skipped as already ingested) with its size, hash, mtime and reason.

Each accepted file is converted once into staged files with the raw table's
columns (parquet for DuckDB, csv for PostgreSQL's COPY) and handed to dlt as
file imports, so no rows pass through Python dicts or dlt's normaliser.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import dlt

from .contract import RAW_TEXT_COLUMNS, ROW_NUMBER_FIELD, RejectedFile, parse_delivery_name
from .files import (
    MANIFEST_COLUMNS,
    Delivery,
    Staged,
    manifest_resource,
    staged_rows_resource,
    write_staged_files,
)
from .readers import RAW_SCHEMA, Lineage, read_delivery

PIPELINE_NAME = "marketplace"
SALES_ROWS_TABLE = "marketplace_sales_rows"
MANIFEST_TABLE = "marketplace_files"

SALES_ROWS_COLUMNS = {
    **{name: {"data_type": "text", "nullable": True} for name in RAW_TEXT_COLUMNS},
    ROW_NUMBER_FIELD: {"data_type": "bigint", "nullable": False},
}
MARKETPLACE_MANIFEST_COLUMNS = {
    **MANIFEST_COLUMNS,
    "marketplace_code": {"data_type": "text", "nullable": True},
    "country_code": {"data_type": "text", "nullable": True},
}


def convert_delivery(
    local_path: Path, file_name: str, file_hash: str, workdir: Path, staged_format: str
) -> Staged:
    """Check the name against the seeds, read the file, stage its raw rows."""
    name = parse_delivery_name(file_name)
    labels = {"marketplace_code": name.marketplace_code, "country_code": name.country_code}
    try:
        batches = read_delivery(local_path, name.extension, Lineage(file_name, file_hash))
        parts = write_staged_files(batches, workdir, staged_format, RAW_SCHEMA)
    except RejectedFile as rejection:
        raise RejectedFile(str(rejection), labels) from None
    return Staged(parts, labels)


def converter(staged_format: str):
    return partial(convert_delivery, staged_format=staged_format)


@dlt.source(name=PIPELINE_NAME, max_table_nesting=0)
def marketplace_source(deliveries: list[Delivery], staged_format: str):
    """The rows of accepted deliveries and the manifest of every file seen."""
    return (
        staged_rows_resource(
            SALES_ROWS_TABLE, SALES_ROWS_COLUMNS, RAW_SCHEMA, deliveries, staged_format
        ),
        manifest_resource(MANIFEST_TABLE, MARKETPLACE_MANIFEST_COLUMNS, deliveries),
    )
