"""dlt source: web-shop event files (JSON Lines, optionally gzip) into `raw`.

- `shop_events`: one row per delivered line: the JSON payload as delivered,
  the envelope fields as text, `_parse_error`, and lineage (file, hash, line);
- `shop_event_files`: the manifest of every file seen, as for marketplace files.

Files already ingested (same bytes) are skipped, so each run lands only new
files; duplicates of an event inside new files are removed in dbt, not here,
so raw keeps exactly what was delivered.
"""

from __future__ import annotations

from pathlib import Path

import dlt

from .event_readers import (
    LINE_NUMBER_FIELD,
    RAW_EVENT_TEXT_COLUMNS,
    check_event_file_name,
    read_event_file,
)
from .files import (
    MANIFEST_COLUMNS,
    Delivery,
    DeliveryStaging,
    Staged,
    StagingArea,
    manifest_resource,
    staged_rows_resource,
)

PIPELINE_NAME = "web_shop"
EVENTS_TABLE = "shop_events"
MANIFEST_TABLE = "shop_event_files"

EVENT_COLUMNS = {
    **{name: {"data_type": "text", "nullable": True} for name in RAW_EVENT_TEXT_COLUMNS},
    LINE_NUMBER_FIELD: {"data_type": "bigint", "nullable": False},
}


def convert_event_file(
    local_path: Path, file_name: str, file_hash: str, staging: DeliveryStaging
) -> Staged:
    compressed = check_event_file_name(file_name)
    return Staged(staging.stage(read_event_file(local_path, file_name, file_hash, compressed)))


@dlt.source(name=PIPELINE_NAME, max_table_nesting=0)
def web_shop_events_source(deliveries: list[Delivery], staging: StagingArea):
    """The staged lines of accepted event files and the manifest of every file seen."""
    return (
        staged_rows_resource(EVENTS_TABLE, EVENT_COLUMNS, staging),
        manifest_resource(MANIFEST_TABLE, MANIFEST_COLUMNS, deliveries),
    )
