"""Read web-shop event files (JSON Lines, optionally gzip) into raw Arrow batches.

Every non-blank line becomes one raw row: the line exactly as delivered
(`payload`), the envelope fields as text, lineage (file, hash, line number) and
`_parse_error` when the line is not a JSON object or cannot be stored. Typing
and validation of the envelope happen in dbt staging; nothing is dropped here.

Lines are split by pyarrow's csv reader (one column, a separator that valid
JSON cannot contain) and parsed block by block with pyarrow's JSON reader. A
block that pyarrow cannot take (a malformed line, an envelope field that is
not a string) or should not (NaN, NUL, surrogates, which PostgreSQL refuses)
is parsed line by line in Python; only a file whose lines cannot even be split
(not UTF-8) is read on line by line from there. Clean blocks never pay.

A gzip file that is truncated or corrupt part-way keeps the complete lines
before the damage, plus one raw row (numbered after the last of them) whose
`_parse_error` says the rest is lost and the file must be re-delivered; a file
damaged before its first complete line is rejected.

`MAX_JSON_DEPTH` (64): a line nested deeper is kept with a `_parse_error` and
never parsed. PostgreSQL's jsonb cast fails the whole build on very deep
documents ("stack depth limit exceeded") and Python's json recurses; real
events nest a few levels. Only lines with more than 64 '[' and '{' in all can
be that deep, so only those get a real (non-recursive) depth check.

`MAX_JSON_EXPONENT` (16383): a number written with a larger exponent is kept
with a `_parse_error`: PostgreSQL's numeric (behind jsonb) cannot hold it.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from .batches import keep_rows, row_numbers
from .contract import RejectedFile

ENVELOPE_FIELDS = (
    "event_id",
    "event_type",
    "occurred_at",
    "customer_id",
    "session_id",
    "country_code",
)
PAYLOAD_FIELD = "payload"
PARSE_ERROR_FIELD = "_parse_error"
FILE_NAME_FIELD = "_source_file_name"
FILE_HASH_FIELD = "_source_file_hash"
LINE_NUMBER_FIELD = "_source_line_number"
RAW_EVENT_TEXT_COLUMNS = ENVELOPE_FIELDS + (
    PAYLOAD_FIELD,
    PARSE_ERROR_FIELD,
    FILE_NAME_FIELD,
    FILE_HASH_FIELD,
)
RAW_EVENT_SCHEMA = pa.schema(
    [pa.field(name, pa.string()) for name in RAW_EVENT_TEXT_COLUMNS]
    + [pa.field(LINE_NUMBER_FIELD, pa.int64(), nullable=False)]
)
ENVELOPE_SCHEMA = pa.schema([pa.field(name, pa.string()) for name in ENVELOPE_FIELDS])

EVENT_FILE_NAME = re.compile(r"^[A-Za-z0-9._-]+\.jsonl(\.gz)?$", re.IGNORECASE)
LINE_BLOCK_SIZE = 8 << 20
# JSON text cannot hold a raw unit separator (control characters must be escaped)
_NO_SEPARATOR = "\x1f"
# PostgreSQL's jsonb cannot store the NUL character
_NUL_ESCAPE = "\\u0000"
# Blocks that pyarrow would accept but PostgreSQL would not are parsed line by
# line: NUL, UTF-16 surrogates (a lone one is refused), NaN / Infinity, which
# pyarrow lets through in fields it skips, numbers with a 5-digit exponent, and
# lines that do not start an object.
_NEEDS_PYTHON = (
    r"\\u0000|\\u[dD][89a-fA-F]|[:,\[]\s*-?(NaN|Infinity)|[:,\[]\s*-?[0-9.]+[eE][-+]?[0-9]{5}"
    r"|^\s*[^\s{]"  # not an object: pyarrow 26 crashes (segfault) on a line `null`
)

MAX_JSON_DEPTH = 64
DEPTH_ERROR = f"nested deeper than {MAX_JSON_DEPTH} levels"
MAX_JSON_EXPONENT = 16383
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[^\[\]{}]+")
_EXPONENT = re.compile(r"[eE]([-+]?[0-9]+)$")


def check_event_file_name(file_name: str) -> bool:
    """True for gzip files; raises RejectedFile for names that are not JSON Lines."""
    if not EVENT_FILE_NAME.match(file_name):
        raise RejectedFile(
            "not an event file: expected a *.jsonl or *.jsonl.gz name "
            "(letters, digits, '.', '_', '-')"
        )
    return file_name.lower().endswith(".gz")


def read_event_file(
    path: Path, file_name: str, file_hash: str, compressed: bool
) -> Iterator[pa.RecordBatch]:
    """Yield raw event batches; raise RejectedFile if the file cannot be read at all."""
    lineage = (file_name, file_hash)
    rows = 0
    try:
        for batch in _read_fast(path, compressed, lineage):
            rows += batch.num_rows
            yield batch
    except _NeedsExactRead as resume:
        for batch in _read_exact(path, compressed, lineage, resume.next_line):
            rows += batch.num_rows
            yield batch
    if rows == 0:
        raise RejectedFile("empty file: no events")


class _NeedsExactRead(Exception):
    def __init__(self, next_line: int):
        super().__init__(next_line)
        self.next_line = next_line


def _read_fast(path: Path, compressed: bool, lineage: tuple[str, str]) -> Iterator[pa.RecordBatch]:
    next_line = 1
    try:
        stream = pa.input_stream(str(path), compression="gzip" if compressed else None)
        reader = pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(column_names=["line"], block_size=LINE_BLOCK_SIZE),
            parse_options=pa_csv.ParseOptions(
                delimiter=_NO_SEPARATOR,
                quote_char=False,
                escape_char=False,
                ignore_empty_lines=False,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={"line": pa.string()}, strings_can_be_null=False
            ),
        )
        for block in reader:
            lines = block.column(0)
            try:
                yield _raw_batch(lines, _parse_envelopes(lines), next_line, lineage)
            except _NeedsExactRead:  # only this block goes line by line
                yield _exact_batch(lines.to_pylist(), next_line, lineage)
            next_line += len(lines)
    except pa.ArrowInvalid:  # the lines themselves cannot be split (e.g. not UTF-8)
        raise _NeedsExactRead(next_line) from None
    except (OSError, EOFError) as error:
        if compressed:  # truncated or corrupt: the exact read keeps what can be read
            raise _NeedsExactRead(next_line) from None
        raise RejectedFile(f"unreadable: {error}") from None


def _parse_envelopes(lines: pa.Array) -> pa.Table:
    """Envelope columns for a block of lines, or _NeedsExactRead if pyarrow cannot parse it."""
    present = pc.not_equal(pc.utf8_trim_whitespace(lines), "")
    text = lines.filter(present)
    if len(text) == 0:
        return _expand(ENVELOPE_SCHEMA.empty_table(), present)
    if pc.any(pc.match_substring_regex(text, _NEEDS_PYTHON)).as_py() or _any_too_deep(text):
        raise _NeedsExactRead(0)
    body = _concatenated(pc.binary_join_element_wise(text, "\n", ""))
    try:
        table = pa_json.read_json(
            pa.BufferReader(body),
            read_options=pa_json.ReadOptions(block_size=max(len(body), 1 << 20)),
            parse_options=pa_json.ParseOptions(
                explicit_schema=ENVELOPE_SCHEMA, unexpected_field_behavior="ignore"
            ),
        )
    except pa.ArrowInvalid:
        raise _NeedsExactRead(0) from None
    if table.num_rows != len(text):
        raise _NeedsExactRead(0)
    return _expand(table, present)


def _any_too_deep(text: pa.Array) -> bool:
    """Whether a line nests deeper than MAX_JSON_DEPTH; only lines with more brackets
    than that in all (a vectorised count) get a real check."""
    brackets = pc.add(pc.count_substring(text, "["), pc.count_substring(text, "{"))
    candidates = text.filter(pc.greater(brackets, MAX_JSON_DEPTH))
    return any(_nesting_depth(line) > MAX_JSON_DEPTH for line in candidates.to_pylist())


def _too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    return _nesting_depth(text) > MAX_JSON_DEPTH


def _nesting_depth(text: str) -> int:
    """How deep brackets nest outside JSON strings, without recursion (or parsing)."""
    outside = _JSON_STRING.sub("", text).split('"', 1)[0]  # brackets in strings do not nest
    brackets = np.frombuffer(_BRACKETS.sub("", outside).encode("ascii"), np.uint8)
    if len(brackets) == 0:
        return 0
    opening = (brackets == ord("[")) | (brackets == ord("{"))
    return int(np.cumsum(np.where(opening, 1, -1)).max())


def _concatenated(joined: pa.Array) -> pa.Buffer:
    """The bytes of all strings of a string array, back to back (zero-copy slice)."""
    offsets = joined.buffers()[1]
    first, last = (
        pa.Array.from_buffers(pa.int32(), len(joined) + 1, [None, offsets], joined.offset)
        .to_numpy()[[0, -1]]
        .tolist()
    )
    return joined.buffers()[2].slice(first, last - first)


def _expand(table: pa.Table, present: pa.Array) -> dict[str, pa.Array]:
    """Spread the parsed rows back over all lines (blank lines get nulls, dropped later)."""
    positions = pc.subtract(pc.cumulative_sum(pc.cast(present, pa.int64())), 1)
    columns = {}
    for name in ENVELOPE_FIELDS:
        if table.num_rows:
            values = table.column(name).combine_chunks()
            columns[name] = values.take(pc.if_else(present, positions, None))
        else:
            columns[name] = pa.nulls(len(present), pa.string())
    columns[PARSE_ERROR_FIELD] = pa.nulls(len(present), pa.string())
    columns["_present"] = present
    return columns


def _read_exact(
    path: Path, compressed: bool, lineage: tuple[str, str], first_line: int
) -> Iterator[pa.RecordBatch]:
    """Line-by-line read that keeps bad lines with a reason instead of failing the file."""
    opener = gzip.open if compressed else open
    batch_lines: list[str] = []
    batch_first = first_line
    lines_read = 0
    try:
        with opener(path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                lines_read = number
                if number < first_line:
                    continue
                batch_lines.append(raw)
                if len(batch_lines) == 50_000:
                    yield _exact_batch(batch_lines, batch_first, lineage)
                    batch_first += len(batch_lines)
                    batch_lines = []
    except (OSError, EOFError, zlib.error) as error:
        if not compressed or lines_read == 0:
            raise RejectedFile(f"unreadable: {error}") from None
        # the complete lines before the damage land; one more row makes the loss visible
        if batch_lines:
            yield _exact_batch(batch_lines, batch_first, lineage)
        yield _damaged_stream_batch(lines_read, error, lineage)
        return
    if batch_lines:
        yield _exact_batch(batch_lines, batch_first, lineage)


def _damaged_stream_batch(lines_read: int, error: Exception, lineage) -> pa.RecordBatch:
    """One raw row, numbered after the last complete line, saying the rest is lost."""
    if isinstance(error, EOFError):
        reason = f"file is truncated: the gzip stream ends early after line {lines_read}"
    else:
        reason = f"file is corrupt: the gzip stream breaks after line {lines_read} ({error})"
    parsed = {name: pa.nulls(1, pa.string()) for name in ENVELOPE_FIELDS}
    parsed[PARSE_ERROR_FIELD] = pa.array([f"{reason}; re-deliver the file"], pa.string())
    parsed["_present"] = pa.array([True])
    # no payload: nothing of that line was delivered (an empty string would not
    # survive PostgreSQL's csv COPY as one anyway)
    return _raw_batch(pa.nulls(1, pa.string()), parsed, lines_read + 1, lineage)


def _exact_batch(raw_lines: list[bytes | str], first_line: int, lineage) -> pa.RecordBatch:
    texts: list[str] = []
    columns: dict[str, list] = {name: [] for name in ENVELOPE_FIELDS}
    errors: list[str | None] = []
    for raw in raw_lines:
        text, envelope, error = _parse_line(raw)
        texts.append(text)
        errors.append(error)
        for name in ENVELOPE_FIELDS:
            columns[name].append(envelope.get(name))
    lines = pa.array(texts, pa.string())
    parsed = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    parsed[PARSE_ERROR_FIELD] = pa.array(errors, pa.string())
    parsed["_present"] = pc.not_equal(pc.utf8_trim_whitespace(lines), "")
    return _raw_batch(lines, parsed, first_line, lineage)


def _parse_line(raw: bytes | str) -> tuple[str, dict[str, str | None], str | None]:
    try:
        text = (raw if isinstance(raw, str) else raw.decode("utf-8")).rstrip("\r\n")
    except UnicodeDecodeError as error:
        return (
            raw.decode("utf-8", "replace").rstrip("\r\n"),
            {},
            f"not valid UTF-8 ({error.reason})",
        )
    if not text.strip():
        return text, {}, None
    if _NUL_ESCAPE in text:
        return text, {}, "contains \\u0000, which PostgreSQL cannot store in JSON"
    if _too_deep(text):  # never handed to json.loads, which recurses
        return text, {}, DEPTH_ERROR
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_float=_float)
    except ValueError as error:
        return text, {}, f"not valid JSON ({error})"
    except (RecursionError, MemoryError) as error:  # one line must never end the ingest
        return text, {}, f"cannot be parsed ({type(error).__name__})"
    if not isinstance(document, dict):
        return text, {}, "not a JSON object"
    if _has_lone_surrogate(document):
        return text, {}, "contains a lone UTF-16 surrogate, which PostgreSQL cannot store in JSON"
    envelope = {name: _as_text(document.get(name)) for name in ENVELOPE_FIELDS}
    return text, envelope, None


def _reject_constant(name: str) -> None:
    # Python's json takes NaN and Infinity; JSON (and PostgreSQL) does not
    raise ValueError(f"{name} is not a JSON value")


def _float(literal: str) -> float:
    exponent = _EXPONENT.search(literal)
    if exponent and abs(int(exponent[1])) > MAX_JSON_EXPONENT:
        raise ValueError(f"the number {literal[:40]} is beyond what PostgreSQL can store")
    return float(literal)


def _has_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= character <= "\udfff" for character in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _raw_batch(
    lines: pa.Array, parsed: dict[str, pa.Array], first_line: int, lineage: tuple[str, str]
) -> pa.RecordBatch:
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    rows = len(lines)
    file_name, file_hash = lineage
    columns = [parsed[name] for name in ENVELOPE_FIELDS] + [
        lines,
        parsed[PARSE_ERROR_FIELD],
        pa.repeat(file_name, rows) if rows else pa.array([], pa.string()),
        pa.repeat(file_hash, rows) if rows else pa.array([], pa.string()),
        row_numbers(first_line, rows),
    ]
    batch = pa.RecordBatch.from_arrays(columns, schema=RAW_EVENT_SCHEMA)
    return keep_rows(batch, parsed["_present"])
