import datetime as dt
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from ingest import readers, xlsx_limits
from ingest.contract import RejectedFile
from ingest.readers import Lineage, read_delivery
from ingest.xlsx_limits import check_xlsx_bounds

LINEAGE = Lineage("GDN_SG_test.csv", "hash123")
HEADER = "report_date,seller_id,sku_id,units_sold,gmv"


def read_rows(path: Path, extension: str = "csv") -> list[dict]:
    batches = list(read_delivery(path, extension, LINEAGE))
    return pa.Table.from_batches(batches, schema=readers.RAW_SCHEMA).to_pylist()


def write(tmp_path: Path, content: bytes, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_csv_with_bom_and_loose_header_lands_values_as_delivered(tmp_path):
    content = (
        "\ufeff Report_Date ,SELLER_ID,sku_id,Units_Sold,GMV,Promo Code\n"
        '2026-11-01, S1 ,K1,003,"1,234.50",X\\"1\n'
    ).encode()
    [row] = read_rows(write(tmp_path, content))
    assert row["report_date"] == "2026-11-01"
    assert row["seller_id"] == " S1 "  # raw is unchanged; staging trims
    assert row["units_sold"] == "003"
    assert row["gmv"] == "1,234.50"
    assert json.loads(row["_extra_columns"]) == {"Promo Code": 'X\\"1'}
    assert (row["_source_file_name"], row["_source_file_hash"]) == ("GDN_SG_test.csv", "hash123")
    assert row["_source_row_number"] == 2
    assert row["brand"] is None


def test_quoted_newlines_and_blank_lines_keep_exact_row_numbers(tmp_path):
    content = (
        f"{HEADER},sku_name\n"
        '2026-11-01,S1,K1,1,10,"two\nlines, and ""quotes"""\n'
        "\n"
        "2026-11-02,S1,K2,2,20,plain\n"
    ).encode()
    rows = read_rows(write(tmp_path, content))
    assert [row["sku_name"] for row in rows] == ['two\nlines, and "quotes"', "plain"]
    assert [row["_source_row_number"] for row in rows] == [2, 4]


def test_ragged_records_are_kept_whole_and_the_rest_of_the_file_loads(tmp_path, monkeypatch):
    # a tiny block size makes the fast reader yield blocks before it meets the
    # ragged record, so the exact reader must resume without repeating rows
    monkeypatch.setattr(readers, "CSV_BLOCK_SIZE", 64)
    lines = [HEADER] + [f"2026-11-01,S1,K{i},1,10" for i in range(40)]
    lines[30] = "2026-11-01,S1,K29,1,10,EXTRA"
    rows = read_rows(write(tmp_path, ("\n".join(lines) + "\n").encode()))
    assert [row["_source_row_number"] for row in rows] == list(range(2, 42))
    malformed = [row for row in rows if row["_malformed_record"]]
    assert len(malformed) == 1
    assert malformed[0]["_source_row_number"] == 31
    assert json.loads(malformed[0]["_malformed_record"]) == [
        "2026-11-01",
        "S1",
        "K29",
        "1",
        "10",
        "EXTRA",
    ]
    assert malformed[0]["sku_id"] is None
    assert sum(1 for row in rows if row["sku_id"]) == 39


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (HEADER.encode() + b"\n", "header only"),
        (b"report_date,seller_id,sku_id,units_sold\n2026-11-01,S1,K1,1\n", "missing required"),
        (HEADER.encode() + b"\n2026-11-01,Caf\xe9,K1,1,10\n", "not valid UTF-8"),
        (b"\xff\xfe" + HEADER.encode(), "not valid UTF-8"),
    ],
)
def test_unloadable_csv_files_are_rejected_with_a_reason(tmp_path, content, reason):
    with pytest.raises(RejectedFile, match=reason):
        read_rows(write(tmp_path, content))


def test_xlsx_excel_date_cells_and_numbers_become_text(tmp_path):
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "notes"
    notes.append(["this sheet is not the data"])
    data = workbook.create_sheet("data")
    data.append(["Report_Date", "seller_id", "sku_id", "units_sold", "gmv", "unit_price"])
    data.append([dt.date(2026, 11, 1), "S1", 12345, 3, 30.5, 10.0])
    data.cell(row=2, column=1).number_format = "yyyy-mm-dd"
    data.append([None, None, None, None, None, None])
    data.append([dt.datetime(2026, 11, 2, 0, 0), "S2", "K2", -1, -9.99, 9.99])
    path = tmp_path / "GDN_SG_x.xlsx"
    workbook.save(path)
    rows = read_rows(path, "xlsx")
    assert [(r["report_date"], r["sku_id"], r["units_sold"], r["gmv"]) for r in rows] == [
        ("2026-11-01", "12345", "3", "30.5"),
        ("2026-11-02", "K2", "-1", "-9.99"),
    ]
    assert [r["unit_price"] for r in rows] == ["10", "9.99"]
    assert [r["_source_row_number"] for r in rows] == [2, 4]


def test_broken_xlsx_is_rejected(tmp_path):
    with pytest.raises(RejectedFile, match="unreadable xlsx"):
        read_rows(write(tmp_path, b"PK\x03\x04 not really a zip", "bad.xlsx"), "xlsx")


def run_reader_in_subprocess(path: Path) -> subprocess.CompletedProcess:
    # calamine aborts the whole process on a sheet it cannot allocate, so the
    # proof that the reader refuses such files first must not run inside pytest
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ingest.contract import RejectedFile\n"
        "from ingest.readers import Lineage, read_delivery\n"
        "try:\n"
        "    list(read_delivery(Path(sys.argv[1]), 'xlsx', Lineage('GDN_SG_x.xlsx', 'h')))\n"
        "except RejectedFile as rejection:\n"
        "    print('rejected:', rejection)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_xlsx_with_a_stray_cell_at_the_last_excel_cell_is_rejected_not_allocated(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(["2026-11-01", "S1", "K1", 1, 10])
    sheet["XFD1048576"] = "stray"
    path = tmp_path / "GDN_SG_x.xlsx"
    workbook.save(path)
    result = run_reader_in_subprocess(path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rejected: xlsx sheet too large" in result.stdout
    assert "1,048,576 rows x 16,384 columns" in result.stdout


def write_xlsx_sheet_data(tmp_path: Path, sheet_data: str, shared_strings: str = "") -> Path:
    """A minimal hand-written workbook, for sheet XML that openpyxl would not write."""
    path = tmp_path / "GDN_SG_hand.xlsx"
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{relationships}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{relationships}"><sheets>'
            '<sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{relationships}/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{main}"><sheetData>{sheet_data}</sheetData></worksheet>',
        )
        if shared_strings:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
    return path


def inline_row(number: int | None, values: list[str], with_references: bool = True) -> str:
    cells = "".join(
        f"<c{f' r={chr(39)}{chr(65 + i)}{number}{chr(39)}' if with_references else ''} "
        f't="inlineStr"><is><t>{value}</t></is></c>'
        for i, value in enumerate(values)
    )
    return f"<row{f' r={chr(34)}{number}{chr(34)}' if number else ''}>{cells}</row>"


def test_hand_written_xlsx_without_cell_references_is_read(tmp_path):
    rows = inline_row(None, HEADER.split(","), False) + inline_row(
        None, ["2026-11-01", "S1", "K1", "1", "10"], False
    )
    [row] = read_rows(write_xlsx_sheet_data(tmp_path, rows), "xlsx")
    assert (row["sku_id"], row["gmv"], row["_source_row_number"]) == ("K1", "10", 2)


@pytest.mark.parametrize(
    "stray_row",
    [
        # cells without a reference: placed right of the previous one, in a far row
        '<row r="1048576"><c t="inlineStr"><is><t>x</t></is></c>'
        + '<c t="inlineStr"><is><t>x</t></is></c>' * 30
        + "</row>",
        # lower case reference, odd quoting and spacing, which calamine accepts too
        "<row r='1'><c t=\"inlineStr\" r = 'xfd1048576'><is><t>x</t></is></c></row>",
        # a namespace prefix on the cell tag
        '<x:row r="9"><x:c r="XFD1048576" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c></x:row>',
    ],
)
def test_absurd_used_range_is_found_however_the_cells_are_written(tmp_path, stray_row):
    header = inline_row(1, HEADER.split(","))
    path = write_xlsx_sheet_data(tmp_path, header + stray_row)
    with pytest.raises(RejectedFile, match="xlsx sheet too large"):
        check_xlsx_bounds(path)


def test_xlsx_parts_that_inflate_beyond_the_limit_are_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_limits, "MAX_XLSX_PART_BYTES", 100_000)
    shared = "<sst>" + "<si><t>" + "x" * 200_000 + "</t></si></sst>"
    path = write_xlsx_sheet_data(tmp_path, inline_row(1, HEADER.split(",")), shared)
    with pytest.raises(RejectedFile, match="xlsx too large: part 'xl/sharedStrings.xml'"):
        read_rows(path, "xlsx")


def test_a_row_with_a_nul_character_is_kept_whole_with_a_reason(tmp_path):
    content = (
        f"{HEADER},Promo Code\n"
        "2026-11-01,S1,K1,1,10,A\n"
        "2026-11-01,S1,K\x002,1,10,B\n"
        "2026-11-01,S1,K3,1,10,C\x00D\n"
        "2026-11-01,S1,K4,1,10,E\n"
    ).encode()
    rows = read_rows(write(tmp_path, content))
    assert [row["_source_row_number"] for row in rows] == [2, 3, 4, 5]
    flagged = [row for row in rows if row["_row_error"]]
    assert [row["_source_row_number"] for row in flagged] == [3, 4]
    assert all("NUL" in row["_row_error"] for row in flagged)
    assert json.loads(flagged[0]["_malformed_record"]) == [
        "2026-11-01",
        "S1",
        "K\x002",
        "1",
        "10",
        "B",
    ]
    assert "\\u0000" in flagged[1]["_malformed_record"]
    assert all(row["sku_id"] is None for row in flagged)
    assert all(json.loads(row["_extra_columns"]) == {"Promo Code": None} for row in flagged)
    for row in rows:  # nothing PostgreSQL would refuse is left anywhere
        assert not any("\x00" in value for value in row.values() if isinstance(value, str))
    assert [row["sku_id"] for row in rows if not row["_row_error"]] == ["K1", "K4"]
    assert rows[0]["_row_error"] is None


def test_a_nul_in_a_ragged_csv_and_in_xlsx_cells_is_kept_out_of_the_cells(tmp_path):
    ragged = f"{HEADER}\n2026-11-01,S1,K1,1,10,extra\n2026-11-01,S1,K\x002,1,10\n".encode()
    rows = read_rows(write(tmp_path, ragged))
    assert [row["_row_error"] is not None for row in rows] == [False, True]
    cells = inline_row(1, HEADER.split(",")) + inline_row(
        2, ["2026-11-01", "S1", "K_x0000_1", "1", "2"]
    )
    [row] = read_rows(write_xlsx_sheet_data(tmp_path, cells), "xlsx")
    assert row["_row_error"] == readers.NUL_ROW_ERROR
    assert row["sku_id"] is None
    assert json.loads(row["_malformed_record"])[2] == "K\x001"


def test_extra_columns_json_escapes_control_characters(tmp_path):
    content = f"{HEADER},note\n2026-11-01,S1,K1,1,10,a\x01b\x1fc\n".encode()
    [row] = read_rows(write(tmp_path, content))
    assert "\\u0001" in row["_extra_columns"]
    assert json.loads(row["_extra_columns"]) == {"note": "a\x01b\x1fc"}
