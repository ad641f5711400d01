"""Arrow helpers the raw readers share: lineage row numbers, and dropping rows cheaply."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def keep_rows(batch: pa.RecordBatch, keep: pa.Array) -> pa.RecordBatch:
    """The rows `keep` marks; the batch itself when that is all of them (the usual
    case), since a filter copies every column. A null in `keep` drops its row, as
    `filter` does."""
    if len(keep) == 0 or (keep.null_count == 0 and pc.all(keep).as_py()):
        return batch
    return batch.filter(keep)


def row_numbers(first: int, count: int) -> pa.Array:
    """first, first + 1, ... as int64, built in numpy (a Python range is slow, and
    `pa.array` of a numpy array imports pandas)."""
    values = np.arange(first, first + count, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(values)])
