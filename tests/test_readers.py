import datetime as dt
import json
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from ingest import readers
from ingest.contract import RejectedFile
from ingest.readers import Lineage, read_delivery

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
