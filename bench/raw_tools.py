"""The raw tools the project's ingest is compared with, one process per run.

    python -m bench.raw_tools duckdb-csv WAREHOUSE.duckdb FILE.csv
    python -m bench.raw_tools duckdb-json WAREHOUSE.duckdb FOLDER
    python -m bench.raw_tools calamine FILE.xlsx

Each does the least the project's ingest must also do: csv as text columns into
a table, JSON Lines into a table, the xlsx sheet into an Arrow table.
"""

from __future__ import annotations

import sys


def duckdb_csv(database: str, csv_file: str) -> None:
    import duckdb

    duckdb.connect(database).execute(
        "create table t as select * from read_csv(?, all_varchar=true, header=true)", [csv_file]
    )


def duckdb_json(database: str, folder: str) -> None:
    import duckdb

    duckdb.connect(database).execute(
        "create table t as select * from read_json(?, format='newline_delimited')",
        [folder + "/*.jsonl"],
    )


def calamine(xlsx_file: str) -> None:
    import pyarrow as pa
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(xlsx_file).get_sheet_by_index(0).to_python()
    pa.table(list(zip(*rows[1:], strict=False)), names=[str(c) for c in rows[0]])


TOOLS = {"duckdb-csv": duckdb_csv, "duckdb-json": duckdb_json, "calamine": calamine}

if __name__ == "__main__":
    TOOLS[sys.argv[1]](*sys.argv[2:])
