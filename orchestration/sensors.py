"""When runs start because files came: the marketplace inbox sensor.

Each tick lists the inbox (folder or bucket) and hashes only files it has not seen
with that (url, size, mtime). A delivery is its bytes for its marketplace and
country; deliveries never seen before start one run whose run key is the digest of
their hashes, so the same bytes never start two runs (Dagster drops a repeated run
key, and the cursor remembers every delivery already requested)."""

from __future__ import annotations

import hashlib
import json

from dagster import (
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from ingest import settings
from ingest.contract import delivery_scope
from ingest.files import REFUSAL, identity_of, list_inbox, sha256_of_stream

from .assets import DATA_TESTS_TAG

SENSOR_SECONDS = 30


def marketplace_inbox_sensor(job: JobDefinition) -> SensorDefinition:
    @sensor(
        name="marketplace_inbox",
        job=job,
        minimum_interval_seconds=SENSOR_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Starts the marketplace job when new or changed files land in the inbox.",
    )
    def marketplace_inbox(context: SensorEvaluationContext):
        return new_deliveries(settings.marketplace_inbox(), context.cursor)

    return marketplace_inbox


def new_deliveries(inbox: str, cursor: str | None) -> SensorResult | SkipReason:
    """A run request for the deliveries in `inbox` that `cursor` has not seen."""
    state = json.loads(cursor) if cursor else {"hashes": {}, "requested": []}
    known, requested = state["hashes"], set(state["requested"])
    hashes, new = {}, []
    for item in list_inbox(inbox):
        if item.get(REFUSAL):
            continue  # the ingest reports refused entries; they never start a run
        identity = json.dumps(identity_of(item), default=str)
        file_hash = known.get(identity) or _sha256(item)
        hashes[identity] = file_hash
        delivery = ":".join([*delivery_scope(item["file_name"]), file_hash])
        if delivery not in requested:
            requested.add(delivery)
            new.append((item["file_name"], delivery))
    cursor = json.dumps({"hashes": hashes, "requested": sorted(requested)})
    if not new:
        return SensorResult(skip_reason=SkipReason("no new bytes in the inbox"), cursor=cursor)
    digest = hashlib.sha256("\n".join(sorted(key for _, key in new)).encode()).hexdigest()
    request = RunRequest(
        run_key=f"marketplace-files:{digest}",
        # tested on the new rows; the nightly run tests every row
        tags={"warehouse/new_files": str(len(new)), DATA_TESTS_TAG: "new_loads"},
    )
    return SensorResult(run_requests=[request], cursor=cursor)


def _sha256(item) -> str:
    with item.open(compression="disable") as stream:
        return sha256_of_stream(stream)
