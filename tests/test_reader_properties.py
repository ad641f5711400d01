"""Property tests: for any delivered content a reader lands conforming rows or
rejects the file with RejectedFile, never anything else.

Derandomised (and without an example database) so that CI sees the same
examples on every run; the example counts keep the whole file to ~20 s.
"""

import atexit
import datetime as dt
import gzip
import json
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import event_readers, readers
from ingest.contract import RejectedFile, parse_delivery_name
from ingest.readers import Lineage, read_delivery
from ingest.xlsx_limits import MAX_XLSX_CELLS, MAX_XLSX_COLUMNS, MAX_XLSX_ROWS, check_xlsx_bounds

settings.register_profile(
    "readers",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
READERS = settings.get_profile("readers")
HEADER = ["report_date", "seller_id", "sku_id", "units_sold", "gmv"]
LINEAGE = Lineage("GDN_SG_p.csv", "hash")

# text a delivery may hold: NUL and other control characters, separators,
# quotes, odd unicode (combining marks, right-to-left, astral, BOM)
awkward_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\x00\x01\x1c\x1f\x7f,;\"'\\ \t\ufeff\u202e\u0301\U0001f600")),
        st.characters(codec="utf-8"),
    ),
    max_size=12,
)


# one folder for all examples (function-scoped fixtures do not mix with @given)
_FOLDER = tempfile.TemporaryDirectory(prefix="reader-properties-")
atexit.register(_FOLDER.cleanup)


def temporary_file(content: bytes, name: str) -> Path:
    path = Path(_FOLDER.name) / name
    path.write_bytes(content)
    return path


def landed_rows(batches: list[pa.RecordBatch], schema: pa.Schema) -> list[dict]:
    for batch in batches:
        assert batch.schema.equals(schema)
    return pa.Table.from_batches(batches, schema=schema).to_pylist()


# --- file names --------------------------------------------------------------------------


@settings(READERS, max_examples=300)
@given(
    st.one_of(
        st.text(),
        st.builds(
            lambda m, c, label, ext: f"{m}_{c}_{label}.{ext}",
            st.sampled_from(["GDN", "gdn", "SEV", "XYZ", ""]),
            st.sampled_from(["SG", "my", "TH", "VN", "S"]),
            st.text(max_size=8),
            st.sampled_from(["csv", "XLSX", "json", ""]),
        ),
    )
)
def test_any_file_name_parses_or_is_rejected(name):
    try:
        parsed = parse_delivery_name(name)
    except RejectedFile as rejection:
        assert str(rejection)
        return
    assert parsed.extension in {"csv", "xlsx"}
    assert name.lower().endswith(parsed.extension)


# --- csv ---------------------------------------------------------------------------------


@settings(READERS, max_examples=150)
@given(st.binary(max_size=300), st.booleans())
def test_any_csv_bytes_after_a_header_land_or_are_rejected(body, with_header):
    content = (",".join(HEADER) + "\n").encode() + body if with_header else body
    try:
        rows = landed_rows(
            list(read_delivery(temporary_file(content, "f.csv"), "csv", LINEAGE)),
            readers.RAW_SCHEMA,
        )
    except RejectedFile:
        return
    numbers = [row["_source_row_number"] for row in rows]
    assert len(set(numbers)) == len(numbers)
    assert all(2 <= number <= content.count(b"\n") + content.count(b"\r") + 2 for number in numbers)
    assert_storable(rows)


cell_text = awkward_text.filter(lambda text: not set(text) & set('"\n\r'))


@settings(READERS, max_examples=150)
@given(st.lists(st.lists(cell_text, min_size=0, max_size=8), max_size=12))
def test_every_non_blank_csv_row_lands_once_with_its_row_number(records):
    lines = [",".join(HEADER)] + [",".join(record) for record in records]
    content = ("\n".join(lines) + "\n").encode("utf-8")
    try:
        rows = landed_rows(
            list(read_delivery(temporary_file(content, "f.csv"), "csv", LINEAGE)),
            readers.RAW_SCHEMA,
        )
    except RejectedFile as rejection:
        assert "header only" in str(rejection)
        rows = []
    expected = [index + 2 for index, record in enumerate(records) if any(record)]
    assert [row["_source_row_number"] for row in rows] == expected
    assert_storable(rows)


def assert_storable(rows: list[dict]) -> None:
    """Nothing PostgreSQL refuses in text; a record set aside says why, as JSON."""
    for row in rows:
        for value in row.values():
            assert not (isinstance(value, str) and "\x00" in value)
        if row["_extra_columns"] is not None:
            assert isinstance(json.loads(row["_extra_columns"]), dict)
        if row["_malformed_record"] is not None:
            assert isinstance(json.loads(row["_malformed_record"]), list)
        if row["_row_error"] is not None:
            assert row["_malformed_record"] is not None


# --- xlsx --------------------------------------------------------------------------------

xlsx_cell = st.one_of(
    st.none(),
    awkward_text.filter(lambda text: all(ord(c) >= 32 or c in "\t\n\r" for c in text)),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
    st.booleans(),
)


@settings(READERS, max_examples=25)
@given(st.lists(st.lists(xlsx_cell, max_size=7), max_size=6))
def test_every_non_empty_xlsx_row_lands_once_with_its_row_number(records):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for record in records:
        sheet.append(record if record else [None])
    path = temporary_file(b"", "GDN_SG_p.xlsx")
    workbook.save(path)
    try:
        rows = landed_rows(list(read_delivery(path, "xlsx", LINEAGE)), readers.RAW_SCHEMA)
    except RejectedFile as rejection:
        assert "header only" in str(rejection)
        rows = []
    expected = [
        index + 2
        for index, record in enumerate(records)
        if any(cell is not None and cell != "" for cell in record)
    ]
    assert [row["_source_row_number"] for row in rows] == expected
    assert_storable(rows)


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


@settings(READERS, max_examples=60)
@given(
    st.lists(
        st.tuples(st.integers(1, 3 * MAX_XLSX_ROWS), st.integers(1, 2 * MAX_XLSX_COLUMNS)),
        min_size=1,
        max_size=5,
    )
)
def test_the_used_range_of_any_cells_is_measured_before_calamine_sees_it(cells):
    # only the measuring runs here: calamine on a range that slips through would
    # abort pytest, so it reads only what is small enough anyway
    references = "".join(
        f'<row r="{row}"><c r="{column_letters(column)}{row}" t="inlineStr">'
        f"<is><t>x</t></is></c></row>"
        for row, column in sorted(cells)
    )
    path = temporary_file(b"", "GDN_SG_p.xlsx")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f"<worksheet><sheetData>{references}</sheetData></worksheet>",
        )
    rows = max(row for row, _ in cells)
    columns = max(column for _, column in cells)
    too_large = (
        rows > MAX_XLSX_ROWS or columns > MAX_XLSX_COLUMNS or rows * columns > MAX_XLSX_CELLS
    )
    try:
        check_xlsx_bounds(path)
    except RejectedFile as rejection:
        assert too_large, str(rejection)
        return
    assert not too_large


@settings(READERS, max_examples=60)
@given(st.binary(max_size=400))
def test_any_bytes_named_xlsx_are_rejected_or_read(content):
    if not content:
        content = b"PK"
    try:
        rows = landed_rows(
            list(read_delivery(temporary_file(content, "GDN_SG_p.xlsx"), "xlsx", LINEAGE)),
            readers.RAW_SCHEMA,
        )
    except RejectedFile:
        return
    assert_storable(rows)


# --- JSON Lines --------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        awkward_text,
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(awkward_text, children, max_size=3)
    ),
    max_leaves=8,
)
event_line = st.one_of(
    st.builds(
        lambda event_id, extra: json.dumps({"event_id": event_id, "extra": extra}),
        st.one_of(awkward_text, st.integers()),
        json_values,
    ),
    st.builds(json.dumps, json_values),
    awkward_text,
    st.integers(1, 200).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(1, 200).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.sampled_from(
        ['{"n": 1e99999}', '{"n": 123456789012345678901234567890}', '{"n": NaN}', '"\\ud800"']
    ),
)


@settings(READERS, max_examples=120)
@given(
    st.lists(event_line, max_size=10),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from(["plain", "gzip", "truncated gzip"]),
    st.booleans(),
)
def test_any_json_lines_land_as_storable_rows_or_are_rejected(lines, newline, form, surrogates):
    text = newline.join(lines) + newline
    content = text.encode("utf-8", "surrogatepass" if surrogates else "replace")
    if form != "plain":
        content = gzip.compress(content)
    if form == "truncated gzip":
        content = content[: len(content) * 2 // 3]
    name = "events.jsonl" if form == "plain" else "events.jsonl.gz"
    path = temporary_file(content, name)
    try:
        batches = list(event_readers.read_event_file(path, name, "hash", form != "plain"))
    except RejectedFile:
        return
    rows = landed_rows(batches, event_readers.RAW_EVENT_SCHEMA)
    numbers = [row["_source_line_number"] for row in rows]
    assert len(set(numbers)) == len(numbers)
    physical_lines = max(len(lines), 1)  # no lines is still one newline
    assert all(1 <= number <= physical_lines + 1 for number in numbers)
    if form != "truncated gzip":
        present = [i + 1 for i, line in enumerate(lines) if line.strip()]
        assert set(present) <= set(numbers)
    for row in rows:
        if row["_parse_error"] is None:
            assert_storable_json_object(row["payload"])


def assert_storable_json_object(payload: str) -> None:
    """What dbt casts to jsonb: an object, strict JSON, storable by PostgreSQL."""

    def refuse(constant):
        raise AssertionError(f"{constant} landed without a parse error")

    document = json.loads(payload, parse_constant=refuse)
    assert isinstance(document, dict)
    assert "\\u0000" not in payload
    assert event_readers._nesting_depth(payload) <= event_readers.MAX_JSON_DEPTH
