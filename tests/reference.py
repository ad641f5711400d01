"""An independent model of the marketplace contract, in plain Python and pandas.

End-to-end tests feed the same inbox to the warehouse and to this model and
compare the marts with what this computes. It shares no code with `ingest/` or
the dbt models: files are read with the csv module and openpyxl (not pyarrow
or calamine), and the rules are written again from the contract.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
from fx_reference import daily_units_per_usd, units_per_usd

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
REQUIRED = ["report_date", "seller_id", "sku_id", "units_sold", "gmv"]
CONTRACT = REQUIRED + [
    "seller_name", "seller_type", "sku_name", "brand", "category", "barcode",
    "unit_price", "currency", "orders", "page_views", "discount",
]  # fmt: skip
KEY = ["marketplace_code", "country_code", "report_date", "seller_id", "sku_id"]
NAME = re.compile(r"^([A-Za-z0-9]+)_([A-Za-z]{2})_[A-Za-z0-9._-]+\.(csv|xlsx)$", re.IGNORECASE)
INTEGER = re.compile(r"^[+-]?0*[0-9]{1,18}$")
DECIMAL = re.compile(r"^[+-]?0*([0-9]{1,13}(\.[0-9]*)?|\.[0-9]+)$")
# accepted ranges (README "Value ranges"); tests/test_value_ranges.py covers key totals
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
MAX_MONEY, MAX_COUNT = Decimal(10**12), 10**9


@dataclass
class Expected:
    accepted: list[dict] = field(default_factory=list)  # accepted rows with delivery order
    rejected_rows: set[tuple[str, int]] = field(default_factory=set)  # (file name, row number)
    rejected_files: set[str] = field(default_factory=set)
    loaded_hashes: set[str] = field(default_factory=set)
    deliveries: int = 0

    def add_batch(self, inbox: Path) -> None:
        """Account for one ingest run over the files now in the inbox (call it before the run)."""
        files = sorted(
            (p for p in inbox.iterdir() if p.is_file()), key=lambda p: (p.stat().st_mtime, p.name)
        )
        for path in files:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in self.loaded_hashes:
                continue
            records = _delivery_records(path)
            if records is None:
                self.rejected_files.add(path.name)
                continue
            self.loaded_hashes.add(digest)
            self.deliveries += 1
            marketplace, country = (part.upper() for part in NAME.match(path.name).groups()[:2])
            for row_number, record in records:
                self._add_row(path.name, row_number, record, marketplace, country)

    def _add_row(self, file_name, row_number, record, marketplace, country) -> None:
        row = _validated(record, country)
        if row is None:
            self.rejected_rows.add((file_name, row_number))
            return
        row |= {
            "marketplace_code": marketplace,
            "country_code": country,
            "delivery": self.deliveries,
            "file_name": file_name,
            "row_number": row_number,
        }
        self.accepted.append(row)

    def sku_sales(self) -> pd.DataFrame:
        """Add up per delivery and key, then the latest delivery of each key wins."""
        rows = pd.DataFrame(self.accepted)
        per_delivery = rows.groupby(KEY + ["delivery"], as_index=False).agg(
            units_sold=("units_sold", "sum"),
            gmv=("gmv", "sum"),
            # one row without a rate makes the key's USD unknown, never a partial sum
            gmv_usd=("gmv_usd", lambda usd: usd.sum(skipna=False)),
            currency_code=("currency_code", "max"),
        )
        latest = per_delivery.sort_values("delivery").groupby(KEY).tail(1)
        return latest.drop(columns="delivery").reset_index(drop=True)

    def latest_attribute(self, key: list[str], attribute: str) -> dict[tuple, object]:
        """Per key, the value from the most recent row that carries the attribute."""
        rows = pd.DataFrame(self.accepted)
        rows = rows[rows[attribute].notna()].sort_values(
            ["delivery", "report_date", "row_number"], ascending=False
        )
        firsts = rows.groupby(key).head(1)
        return {tuple(r[k] for k in key): r[attribute] for _, r in firsts.iterrows()}


def _delivery_records(path: Path) -> list[tuple[int, dict]] | None:
    """(row number, {contract column: text}) per data row, or None if the file is rejected."""
    match = NAME.match(path.name)
    if not match:
        return None
    marketplace, country = match.group(1).upper(), match.group(2).upper()
    if country not in _served().get(marketplace, set()):
        return None
    try:
        table = _read_csv(path) if match.group(3).lower() == "csv" else _read_xlsx(path)
    except Exception:
        return None
    if not table:
        return None
    header = [str(cell or "").strip().lower() for cell in table[0]]
    named = [name for name in header if name]
    if any(column not in header for column in REQUIRED) or len(set(named)) != len(named):
        return None
    records = []
    for offset, cells in enumerate(table[1:]):
        if all(cell in (None, "") for cell in cells):
            continue
        row_number = offset + 2
        overflow = [c for c in cells[len(header) :] if c not in (None, "")]
        if overflow or len(cells) < len(header):
            records.append((row_number, None))
        else:
            record = {name: cells[i] for i, name in enumerate(header) if name in CONTRACT}
            records.append((row_number, record))
    return records or None


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _read_xlsx(path: Path) -> list[list[object]]:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    names = workbook.sheetnames
    sheet = workbook[next((n for n in names if n.strip().lower() == "data"), names[0])]
    return [[_excel_text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]


def _excel_text(cell: object) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time(0) else cell.isoformat(sep=" ")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _validated(record: dict | None, country: str) -> dict | None:
    """The accepted row with typed values, or None when the contract rejects it."""
    if record is None:
        return None
    text = {name: (str(record.get(name) or "").strip() or None) for name in CONTRACT}
    try:
        report_date = dt.date.fromisoformat(text["report_date"] or "")
    except ValueError:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text["report_date"]):
        return None
    if not (text["seller_id"] and text["sku_id"]):
        return None
    if not INTEGER.match(text["units_sold"] or "") or not DECIMAL.match(text["gmv"] or ""):
        return None
    optional_numbers = {
        "unit_price": DECIMAL,
        "orders": INTEGER,
        "page_views": INTEGER,
        "discount": DECIMAL,
    }
    for name, pattern in optional_numbers.items():
        if text[name] is not None and not pattern.match(text[name]):
            return None
    if not FIRST_DAY <= report_date <= LAST_DAY:
        return None
    if abs(int(text["units_sold"])) >= MAX_COUNT or abs(Decimal(text["gmv"])) >= MAX_MONEY:
        return None
    for name, bound in [("unit_price", MAX_MONEY), ("orders", MAX_COUNT),
                        ("page_views", MAX_COUNT), ("discount", MAX_MONEY)]:  # fmt: skip
        if text[name] is not None and abs(Decimal(text[name])) >= bound:
            return None
    seller_type = text["seller_type"].lower() if text["seller_type"] else None
    if seller_type not in (None, "individual", "retail_chain"):
        return None
    currency = (text["currency"] or _currencies()[country]).upper()
    rate = units_per_usd(currency, report_date)
    if currency not in known_currencies():
        return None
    gmv = Decimal(text["gmv"]).quantize(Decimal("0.0001"))
    return {
        "report_date": report_date,
        "seller_id": text["seller_id"],
        "sku_id": text["sku_id"],
        "units_sold": int(text["units_sold"]),
        "gmv": gmv,
        "gmv_usd": float(gmv) / rate if rate else float("nan"),
        "currency_code": currency,
        "sku_name": text["sku_name"],
        "seller_name": text["seller_name"],
        "unit_price": Decimal(text["unit_price"]) if text["unit_price"] else None,
    }


def _served() -> dict[str, set[str]]:
    pairs = pd.read_csv(SEEDS / "marketplace_countries.csv", dtype=str)
    return pairs.groupby("marketplace_code")["country_code"].apply(set).to_dict()


def _currencies() -> dict[str, str]:
    countries = pd.read_csv(SEEDS / "countries.csv", dtype=str)
    return dict(zip(countries.country_code, countries.currency_code, strict=True))


def known_currencies() -> set[str]:
    """A country's currency, or one the ECB quotes (others are rejected as unknown)."""
    return set(_currencies().values()) | set(daily_units_per_usd().columns)


def same_usd(actual, expected: float) -> bool:
    """A mart's USD value against the model's: both unknown (no rate: None in the
    mart, NaN here), or equal to the cent."""
    if math.isnan(expected):
        return actual is None
    return actual is not None and abs(float(actual) - expected) <= 0.01
