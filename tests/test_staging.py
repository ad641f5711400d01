"""The staging area: small deliveries share staged parts, large ones stream into their
own, and a delivery that fails halfway leaves no rows behind."""

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from ingest import files
from ingest.contract import RejectedFile
from ingest.files import StagingArea

SCHEMA = pa.schema([pa.field("value", pa.string()), pa.field("row", pa.int64())])


def batches(first: int, count: int, per_batch: int = 10):
    for start in range(first, first + count, per_batch):
        stop = min(start + per_batch, first + count)
        yield pa.record_batch(
            [pa.array([f"v{n}" for n in range(start, stop)]), pa.array(range(start, stop))],
            schema=SCHEMA,
        )


def staged_rows(parts, staged_format) -> list[int]:
    read = pq.read_table if staged_format == "parquet" else pa_csv.read_csv
    return sorted(n for path, _ in parts for n in read(path).column("row").to_pylist())


@pytest.mark.parametrize("staged_format", ["parquet", "csv"])
def test_small_deliveries_share_one_part(tmp_path, staged_format):
    staging = StagingArea(tmp_path, staged_format, SCHEMA)
    counts = [staging.stage(batches(first, 25)) for first in range(0, 100, 25)]
    parts = staging.close()
    assert counts == [25, 25, 25, 25]
    assert len(parts) == 1 and parts[0][1] == 100
    assert staged_rows(parts, staged_format) == list(range(100))


def test_a_delivery_rejected_halfway_leaves_nothing(tmp_path):
    def fails_after_some_rows():
        yield from batches(1000, 30)
        raise RejectedFile("unreadable: broken at the end")

    staging = StagingArea(tmp_path, "parquet", SCHEMA)
    staging.stage(batches(0, 20))
    with pytest.raises(RejectedFile):
        staging.stage(fails_after_some_rows())
    staging.stage(batches(20, 20))
    assert staged_rows(staging.close(), "parquet") == list(range(40))


def test_large_deliveries_stream_into_parts_of_their_own(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "SHARED_DELIVERY_BYTES", 100)  # every delivery is "large"
    monkeypatch.setitem(files.PART_ROWS, "parquet", 40)
    staging = StagingArea(tmp_path, "parquet", SCHEMA)
    assert staging.stage(batches(0, 100)) == 100
    assert staging.stage(batches(100, 5)) == 5  # under the threshold: shared
    parts = staging.close()
    assert [rows for _, rows in parts] == [40, 40, 20, 5]
    assert staged_rows(parts, "parquet") == list(range(105))


def test_a_large_delivery_rejected_halfway_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "SHARED_DELIVERY_BYTES", 100)

    def fails_after_some_rows():
        yield from batches(0, 50)
        raise RejectedFile("unreadable")

    staging = StagingArea(tmp_path, "parquet", SCHEMA)
    with pytest.raises(RejectedFile):
        staging.stage(fails_after_some_rows())
    assert staging.close() == []
    assert not list(tmp_path.rglob("*.parquet"))


def test_files_read_in_threads_come_back_in_inbox_order():
    import random
    import time

    def read(item):
        time.sleep(random.random() / 200)  # finish out of order
        return item["file_name"]

    items = [{"file_name": f"f{n:02d}", "size_in_bytes": 10} for n in range(30)]
    items[7]["size_in_bytes"] = files.SHARED_DELIVERY_BYTES + 1  # a large file, read alone
    assert list(files._in_order(items, read)) == [item["file_name"] for item in items]
