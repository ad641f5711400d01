"""dlt source: marketplace delivery files from an inbox into `raw`.

Two tables land per run, in one load package (one load id):

- `marketplace_sales_rows`: every delivered row as text, with lineage;
- `marketplace_files`: the manifest, one row per new file seen (loaded / rejected /
  skipped as a repeat of earlier bytes) with its size, hash, mtime and reason;
  a file left unchanged in the inbox is not listed again.

Each accepted file is converted once into the staging area (`files.StagingArea`):
files with the raw table's columns that dlt imports as they are.
"""

from __future__ import annotations

from pathlib import Path

import dlt

from .contract import RAW_TEXT_COLUMNS, ROW_NUMBER_FIELD, RejectedFile, parse_delivery_name
from .files import (
    MANIFEST_COLUMNS,
    Delivery,
    DeliveryStaging,
    Staged,
    StagingArea,
    manifest_resource,
    staged_rows_resource,
)
from .readers import Lineage, read_delivery

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
    local_path: Path, file_name: str, file_hash: str, staging: DeliveryStaging
) -> Staged:
    """Check the name against the seeds, read the file, stage its raw rows."""
    name = parse_delivery_name(file_name)
    labels = {"marketplace_code": name.marketplace_code, "country_code": name.country_code}
    try:
        rows = staging.stage(
            read_delivery(local_path, name.extension, Lineage(file_name, file_hash))
        )
    except RejectedFile as rejection:
        raise RejectedFile(str(rejection), labels) from None
    return Staged(rows, labels)


@dlt.source(name=PIPELINE_NAME, max_table_nesting=0)
def marketplace_source(deliveries: list[Delivery], staging: StagingArea):
    """The staged rows of accepted deliveries and the manifest of every file seen."""
    return (
        staged_rows_resource(SALES_ROWS_TABLE, SALES_ROWS_COLUMNS, staging),
        manifest_resource(MANIFEST_TABLE, MARKETPLACE_MANIFEST_COLUMNS, deliveries),
    )
