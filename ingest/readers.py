"""Read a marketplace delivery (csv or xlsx) into Arrow record batches of raw text.

The raw layer keeps values as delivered: every contract column is text, other
delivered columns go to one JSON column, and each row carries its lineage (file
name, file hash, row number). Typing happens later, in dbt staging.

csv goes through pyarrow's streaming reader (multi-threaded C++, bounded memory).
A csv with ragged records (a row with more or fewer fields than the header) is
re-read with Python's csv module, which can keep those records whole; that exact
path is slower but only bad files take it.

xlsx goes through calamine, after `xlsx_limits.check_xlsx_bounds` has measured the
workbook: calamine holds a sheet as one dense grid over its used range, so a tiny
file with a stray cell at XFD1048576 would otherwise abort the process (limits:
`MAX_XLSX_ROWS`, `MAX_XLSX_COLUMNS`, `MAX_XLSX_CELLS`, `MAX_XLSX_PART_BYTES`,
`MAX_XLSX_UNCOMPRESSED_BYTES`, documented there).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from python_calamine import CalamineWorkbook

from .batches import keep_rows, row_numbers
from .contract import (
    CONTRACT_COLUMNS,
    EXTRA_COLUMNS_FIELD,
    FILE_HASH_FIELD,
    FILE_NAME_FIELD,
    MALFORMED_RECORD_FIELD,
    ROW_ERROR_FIELD,
    ROW_NUMBER_FIELD,
    HeaderMapping,
    RejectedFile,
    match_header,
)
from .xlsx_limits import check_xlsx_bounds

RAW_SCHEMA = pa.schema(
    [pa.field(name, pa.string()) for name in CONTRACT_COLUMNS]
    + [
        pa.field(EXTRA_COLUMNS_FIELD, pa.string()),
        pa.field(MALFORMED_RECORD_FIELD, pa.string()),
        pa.field(ROW_ERROR_FIELD, pa.string()),
        pa.field(FILE_NAME_FIELD, pa.string()),
        pa.field(FILE_HASH_FIELD, pa.string()),
        pa.field(ROW_NUMBER_FIELD, pa.int64(), nullable=False),  # as declared to dlt
    ]
)

# pyarrow's streaming reader parses many blocks ahead of the consumer: 4 MB blocks
# keep both cores busy and hold ~400 MB at most (16 MB blocks held ~1 GB)
CSV_BLOCK_SIZE = 4 << 20
NUL_SCAN_BLOCK = 8 << 20  # bytes read at a time when looking for NUL
EXACT_BATCH_ROWS = 50_000
FIRST_DATA_ROW = 2  # the header is row 1, as a spreadsheet shows it
_CONTROL_CHARACTERS = [chr(code) for code in range(32) if chr(code) not in "\n\r\t"]
# PostgreSQL text cannot hold NUL (COPY fails the whole load package): such a
# row keeps its record as JSON (which escapes NUL as \u0000) instead of cells
NUL_ROW_ERROR = "contains a NUL character, which the warehouse cannot store"


@dataclass(frozen=True)
class Lineage:
    file_name: str
    file_hash: str


def read_delivery(path: Path, extension: str, lineage: Lineage) -> Iterator[pa.RecordBatch]:
    """Yield raw batches of one delivery; raise RejectedFile if it cannot be read at all."""
    if path.stat().st_size == 0:
        raise RejectedFile("empty file: 0 bytes")
    reader = read_csv if extension == "csv" else read_xlsx
    rows = 0
    for batch in reader(path, lineage):
        rows += batch.num_rows
        yield batch
    if rows == 0:
        raise RejectedFile("header only: the file has no data rows")


# --- csv ---------------------------------------------------------------------------------


def read_csv(path: Path, lineage: Lineage) -> Iterator[pa.RecordBatch]:
    header = _read_csv_header(path)
    mapping = match_header(header)
    progress = _Progress(next_row=FIRST_DATA_ROW)
    holds_nul = _holds_nul_byte(path)
    try:
        yield from _read_csv_fast(path, mapping, lineage, progress, holds_nul)
    except _RaggedCsv:
        # batches already yielded stay; the exact path resumes at the failed block
        yield from _read_csv_exact(path, mapping, lineage, resume_at_row=progress.next_row)


def _holds_nul_byte(path: Path) -> bool:
    """Whether any cell can hold NUL: in UTF-8 only the byte 0 encodes it, and one
    memchr-speed scan of the file is far cheaper than searching every column. Read
    in blocks into one reused buffer: a mapped file would count whole in the RSS."""
    block = bytearray(NUL_SCAN_BLOCK)
    with path.open("rb", buffering=0) as f:
        while read := f.readinto(block):
            if block.find(b"\x00", 0, read) != -1:
                return True
    return False


class _RaggedCsv(Exception):
    pass


@dataclass
class _Progress:
    next_row: int


def _read_csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return next(csv.reader(f), [])
    except UnicodeDecodeError as error:
        raise RejectedFile(f"unreadable: the file is not valid UTF-8 ({error.reason})") from None
    except csv.Error as error:
        raise RejectedFile(f"unreadable: the header is not valid csv ({error})") from None


def _read_csv_fast(
    path: Path, mapping: HeaderMapping, lineage: Lineage, progress: _Progress, holds_nul: bool
) -> Iterator[pa.RecordBatch]:
    names = [f"c{position}" for position in range(mapping.width)]
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(
                column_names=names, skip_rows=1, block_size=CSV_BLOCK_SIZE
            ),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
        for batch in reader:
            raw = _raw_batch(
                batch.columns, mapping, lineage, progress.next_row, holds_nul=holds_nul
            )
            progress.next_row += batch.num_rows
            yield raw
    except pa.ArrowInvalid as error:
        message = str(error)
        if "Expected" in message and "columns" in message:
            raise _RaggedCsv from None
        if "UTF8" in message or "UTF-8" in message:
            raise RejectedFile("unreadable: the file is not valid UTF-8") from None
        raise RejectedFile(f"unreadable csv: {message.splitlines()[0]}") from None


def _read_csv_exact(
    path: Path, mapping: HeaderMapping, lineage: Lineage, resume_at_row: int
) -> Iterator[pa.RecordBatch]:
    """Record-by-record read that keeps ragged records whole instead of failing the file."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            records = csv.reader(f)
            next(records)  # header, already matched
            for _ in range(resume_at_row - FIRST_DATA_ROW):
                next(records, None)
            yield from _batches_from_records(records, mapping, lineage, resume_at_row)
    except UnicodeDecodeError as error:
        raise RejectedFile(f"unreadable: the file is not valid UTF-8 ({error.reason})") from None
    except csv.Error as error:
        raise RejectedFile(f"unreadable csv: {error}") from None


# --- xlsx --------------------------------------------------------------------------------


def read_xlsx(path: Path, lineage: Lineage) -> Iterator[pa.RecordBatch]:
    check_xlsx_bounds(path)  # before calamine, which cannot fail gracefully on these
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet_name = _data_sheet_name(workbook.sheet_names)
        rows = iter(workbook.get_sheet_by_name(sheet_name).iter_rows())
        header = next(rows, [])
    except RejectedFile:
        raise
    except Exception as error:  # calamine raises several error types for broken workbooks
        raise RejectedFile(f"unreadable xlsx: {type(error).__name__}: {error}") from None
    mapping = match_header(header)
    text_rows = ([_cell_text(cell) for cell in row] for row in rows)
    yield from _batches_from_records(text_rows, mapping, lineage, FIRST_DATA_ROW)


def _data_sheet_name(sheet_names: Sequence[str]) -> str:
    """The contract: the first sheet, unless a sheet named `data` exists."""
    if not sheet_names:
        raise RejectedFile("unreadable xlsx: the workbook has no sheets")
    for name in sheet_names:
        if name.strip().lower() == "data":
            return name
    return sheet_names[0]


def _cell_text(cell: object) -> str | None:
    """Render a typed spreadsheet cell as the text a user sees in it."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, dt.datetime):
        if cell.time() == dt.time(0):
            return cell.date().isoformat()
        return cell.isoformat(sep=" ")
    if isinstance(cell, dt.date | dt.time):
        return cell.isoformat()
    return str(cell)


# --- shared ------------------------------------------------------------------------------


def _batches_from_records(
    records: Iterator[list[str | None]],
    mapping: HeaderMapping,
    lineage: Lineage,
    first_row: int,
) -> Iterator[pa.RecordBatch]:
    """Columnise records in bounded batches; records of the wrong width become malformed."""
    width = mapping.width
    row_number = first_row
    while True:
        columns: list[list[str | None]] = [[] for _ in range(width)]
        malformed: list[str | None] = []
        batch_first_row = row_number
        for record in records:
            row_number += 1
            cells = [None if cell == "" else cell for cell in record]
            blank = all(cell is None for cell in cells)
            fits = len(cells) == width or (
                len(cells) > width and all(cell is None for cell in cells[width:])
            )
            if blank or fits:
                malformed.append(None)
            else:
                malformed.append(json.dumps(cells, ensure_ascii=False))
                cells = [None] * width
            for position in range(width):
                columns[position].append(cells[position] if position < len(cells) else None)
            if len(malformed) == EXACT_BATCH_ROWS:
                break
        if not malformed:
            return
        arrays = [pa.array(values, pa.string()) for values in columns]
        yield _raw_batch(
            arrays, mapping, lineage, batch_first_row, pa.array(malformed, pa.string())
        )


def _raw_batch(
    delivered: Sequence[pa.Array],
    mapping: HeaderMapping,
    lineage: Lineage,
    first_row: int,
    malformed: pa.Array | None = None,
    holds_nul: bool = True,
) -> pa.RecordBatch:
    """Map delivered columns onto the raw schema and add lineage; drop blank records.
    `holds_nul=False` (the reader knows no cell holds NUL) skips looking for it."""
    rows = len(delivered[0]) if delivered else 0
    null_text = pa.nulls(rows, pa.string())
    delivered = _as_arrays(list(delivered))
    if malformed is None:
        malformed = null_text
    row_error = null_text
    if holds_nul:
        delivered, malformed, row_error = _set_aside_nul_rows(delivered, malformed, rows)
    columns = [
        delivered[mapping.contract_positions[name]]
        if name in mapping.contract_positions
        else null_text
        for name in CONTRACT_COLUMNS
    ]
    extras = {header: delivered[position] for header, position in mapping.extra_positions.items()}
    columns += [
        _json_objects(extras, rows),
        malformed,
        row_error,
        pa.repeat(lineage.file_name, rows) if rows else null_text,
        pa.repeat(lineage.file_hash, rows) if rows else null_text,
        row_numbers(first_row, rows),
    ]
    batch = pa.RecordBatch.from_arrays(_as_arrays(columns), schema=RAW_SCHEMA)
    return keep_rows(batch, _not_blank(delivered, malformed, rows))


def _set_aside_nul_rows(
    delivered: list[pa.Array], malformed: pa.Array, rows: int
) -> tuple[list[pa.Array], pa.Array, pa.Array]:
    """Rows with a NUL in any cell: cells nulled, record kept as JSON, the reason given."""
    if not delivered or rows == 0:
        return delivered, malformed, pa.nulls(rows, pa.string())
    has_nul = functools.reduce(
        pc.or_, [pc.fill_null(pc.match_substring(column, "\x00"), False) for column in delivered]
    )
    if not pc.any(has_nul).as_py():  # the usual case: one vectorised scan, nothing else
        return delivered, malformed, pa.nulls(rows, pa.string())
    record = _json_arrays(delivered)
    cells = [pc.if_else(has_nul, pa.scalar(None, pa.string()), column) for column in delivered]
    malformed = pc.if_else(has_nul, record, malformed)
    row_error = pc.if_else(has_nul, NUL_ROW_ERROR, pa.scalar(None, pa.string()))
    return cells, malformed, row_error


def _json_arrays(columns: list[pa.Array]) -> pa.Array:
    """Vectorised `["value", null, ...]` per row, built with Arrow kernels."""
    parts: list[pa.Array | str] = []
    for index, values in enumerate(columns):
        quoted = pc.binary_join_element_wise('"', _json_escape(values), '"', "")
        parts.append("[" if index == 0 else ",")
        parts.append(pc.if_else(pc.is_null(values), "null", quoted))
    parts.append("]")
    return pc.binary_join_element_wise(*parts, "")


def _as_arrays(columns: list) -> list[pa.Array]:
    return [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]


def _not_blank(delivered: Sequence[pa.Array], malformed: pa.Array, rows: int) -> pa.Array:
    """Blank lines and empty spreadsheet rows carry no data; they are not rows to keep."""
    has_value = pc.is_valid(malformed)
    for column in delivered:
        has_value = pc.or_(has_value, pc.is_valid(column))
    return has_value if rows else pa.array([], pa.bool_())


def _json_objects(columns: dict[str, pa.Array], rows: int) -> pa.Array:
    """Vectorised `{"header": "value", ...}` per row, built with Arrow kernels."""
    if not columns or rows == 0:
        return pa.nulls(rows, pa.string())
    parts: list[pa.Array | str] = []
    for index, (header, values) in enumerate(columns.items()):
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        quoted = pc.binary_join_element_wise('"', _json_escape(values), '"', "")
        parts.append(("{" if index == 0 else ",") + json.dumps(header, ensure_ascii=False) + ":")
        parts.append(pc.if_else(pc.is_null(values), "null", quoted))
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def _json_escape(values: pa.Array) -> pa.Array:
    escaped = pc.replace_substring(values, "\\", "\\\\")
    for raw, replacement in (('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        escaped = pc.replace_substring(escaped, raw, replacement)
    for character in _CONTROL_CHARACTERS:
        if pc.any(pc.match_substring(escaped, character)).as_py():
            escaped = pc.replace_substring(escaped, character, f"\\u{ord(character):04x}")
    return escaped
