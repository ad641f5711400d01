"""The ECB reference rates: the reader (both ECB file shapes, and files that are not
ECB files) and the ingest (bundled file, a newer file winning the days it repeats,
unchanged files skipped, a file served over HTTP, a rejected file reported)."""

from __future__ import annotations

import csv
import functools
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest
from conftest import query

from ingest.exchange_rates import RejectedRateFile, bundled_rates_file, read_rates
from ingest.pipeline import ingest_exchange_rates


def _csv_text_of_bundled_file() -> str:
    with zipfile.ZipFile(bundled_rates_file()) as archive:
        (member,) = archive.namelist()
        return archive.read(member).decode()


def test_the_bundled_history_reads_every_quoted_value():
    rows = list(csv.DictReader(io.StringIO(_csv_text_of_bundled_file())))
    quoted = {
        (row["Date"], currency): value
        for row in rows
        for currency, value in row.items()
        if currency and currency != "Date" and value not in ("N/A", "")
    }
    rates = read_rates(bundled_rates_file().read_bytes(), "eurofxref-hist.zip")
    assert len(rates) == len(quoted)
    sample = rates.slice(0, 1000).to_pylist()
    assert all(quoted[(r["rate_date"], r["currency_code"])] == r["units_per_eur"] for r in sample)
    assert {"SGD", "MYR", "THB", "IDR", "PHP", "USD"} <= set(
        rates.column("currency_code").to_pylist()
    )


def test_the_daily_file_shape_reads_too():
    daily = "Date, USD, SGD, \n2 November 2026, 1.1200, 1.4300, \n"
    rates = read_rates(daily.encode(), "eurofxref.csv").to_pylist()
    assert rates == [
        {"rate_date": "2026-11-02", "currency_code": "USD", "units_per_eur": "1.1200"},
        {"rate_date": "2026-11-02", "currency_code": "SGD", "units_per_eur": "1.4300"},
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"Day,USD\n2026-11-02,1.1\n", "not 'Date'"),
        (b"Date,US Dollar\n2026-11-02,1.1\n", "not a currency code"),
        (b"Date,USD\n2026-11-02,lots\n", "USD on 2026-11-02: 'lots' is not a rate"),
        (b"Date,USD\n02/11/2026,1.1\n", "is not a date"),
        (b"Date,USD\n2026-11-02,N/A\n", "no rates"),
        (b"PK\x03\x04 broken", "not a readable zip file"),
    ],
)
def test_a_file_that_is_not_an_ecb_file_is_rejected_with_the_reason(content, reason):
    with pytest.raises(RejectedRateFile, match=reason):
        read_rates(content, "rates.csv")


def _newer_file(folder: Path) -> Path:
    """The ECB's last bundled day with a changed SGD rate, and a day after it."""
    last_day = _csv_text_of_bundled_file().splitlines()[1].split(",")[0]
    path = folder / "eurofxref-newer.csv"
    path.write_text(f"Date,USD,SGD,\n2099-01-02,1.5,2.5,\n{last_day},1.5,9.75,\n")
    return path


@pytest.fixture
def rates_server(tmp_path):
    """A local HTTP server over a folder (nothing leaves the machine)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_rates_load_once_and_a_newer_file_wins_the_days_it_repeats(
    warehouse, tmp_path, rates_server
):
    first = ingest_exchange_rates([], warehouse)
    bundled_rows = first.rows_landed
    assert (first.files_loaded, first.rejected) == (1, [])
    assert query(warehouse, "select count(*) from raw.ecb_euro_reference_rates") == [
        (bundled_rows,)
    ]

    again = ingest_exchange_rates([], warehouse)
    assert (again.files_loaded, again.files_skipped, again.load_id) == (0, 1, None)

    inbox = tmp_path / "inbox"
    (inbox / "exchange_rates").mkdir(parents=True)
    newer = _newer_file(inbox / "exchange_rates")
    served_folder, base_url = rates_server
    (served_folder / "not-rates.csv").write_text("hello\n")
    third = ingest_exchange_rates([f"{base_url}/not-rates.csv"], warehouse, str(inbox))
    assert (third.files_loaded, third.rows_landed) == (1, 4)
    assert [name for name, _ in third.rejected] == ["not-rates.csv"]
    assert "not an ECB reference-rate file" in third.rejected[0][1]

    rows = query(
        warehouse,
        "select rate_date, currency_code, units_per_eur, _source_file_name "
        "from raw.ecb_euro_reference_rates "
        "where _source_file_name = 'eurofxref-newer.csv' order by 1, 2",
    )
    last_day = newer.read_text().splitlines()[2].split(",")[0]
    assert rows == [
        (last_day, "SGD", "9.75", newer.name),
        (last_day, "USD", "1.5", newer.name),
        ("2099-01-02", "SGD", "2.5", newer.name),
        ("2099-01-02", "USD", "1.5", newer.name),
    ]
    # two days' rows replaced in place, two added: one row per day and currency
    assert query(warehouse, "select count(*) from raw.ecb_euro_reference_rates") == [
        (bundled_rows + 2,)
    ]
    status = query(
        warehouse, "select file_name, status from raw.ecb_rate_files order by seen_at, file_name"
    )
    assert status == [
        ("eurofxref-hist.zip", "loaded"),
        ("eurofxref-newer.csv", "loaded"),
        ("not-rates.csv", "rejected"),
    ]
    # the rejected file is reported again while it is named, but listed once
    fourth = ingest_exchange_rates([f"{base_url}/not-rates.csv"], warehouse, str(inbox))
    assert (fourth.files_loaded, len(fourth.rejected)) == (0, 1)
    assert query(warehouse, "select count(*) from raw.ecb_rate_files") == [(3,)]
