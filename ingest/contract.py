"""The marketplace file contract (../shared/contracts/marketplace_files.md) as code.

Everything a reader needs to accept or reject a delivery lives here: the file-name
rule, the contract columns and the header matching. Reference data (which
marketplace serves which country) comes from the dbt seeds so there is one list.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"

REQUIRED_COLUMNS: tuple[str, ...] = ("report_date", "seller_id", "sku_id", "units_sold", "gmv")
OPTIONAL_COLUMNS: tuple[str, ...] = (
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
CONTRACT_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# Lineage and overflow columns every raw row carries besides the contract columns.
EXTRA_COLUMNS_FIELD = "_extra_columns"  # JSON object {delivered header: value}
MALFORMED_RECORD_FIELD = "_malformed_record"  # JSON array of the fields of a ragged record
# why a delivered row could not be kept as cells (e.g. a NUL character): its
# cells are then null and the record is kept whole in _malformed_record
ROW_ERROR_FIELD = "_row_error"
FILE_NAME_FIELD = "_source_file_name"
FILE_HASH_FIELD = "_source_file_hash"
ROW_NUMBER_FIELD = "_source_row_number"  # header is row 1, first data row is row 2
RAW_TEXT_COLUMNS: tuple[str, ...] = CONTRACT_COLUMNS + (
    EXTRA_COLUMNS_FIELD,
    MALFORMED_RECORD_FIELD,
    ROW_ERROR_FIELD,
    FILE_NAME_FIELD,
    FILE_HASH_FIELD,
)

_FILE_NAME = re.compile(
    r"^(?P<marketplace>[A-Za-z0-9]+)_(?P<country>[A-Za-z]{2})_(?P<label>[A-Za-z0-9._-]+)"
    r"\.(?P<extension>csv|xlsx)$",
    re.IGNORECASE,
)


class RejectedFile(Exception):
    """A delivery that cannot be loaded at all; the message is the reason users see.

    `labels` carries what was learnt of the file before it failed (for the manifest)."""

    def __init__(self, reason: str, labels: dict[str, str | None] | None = None):
        super().__init__(reason)
        self.labels = labels or {}


@dataclass(frozen=True)
class DeliveryName:
    marketplace_code: str
    country_code: str
    label: str
    extension: str


@cache
def served_countries() -> dict[str, frozenset[str]]:
    """Marketplace code -> the country codes the seeds register for it."""
    with (SEEDS_DIR / "marketplaces.csv").open(newline="") as f:
        served: dict[str, set[str]] = {row["marketplace_code"]: set() for row in csv.DictReader(f)}
    with (SEEDS_DIR / "marketplace_countries.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            served.setdefault(row["marketplace_code"], set()).add(row["country_code"])
    return {code: frozenset(countries) for code, countries in served.items()}


def parse_delivery_name(file_name: str) -> DeliveryName:
    """Split `<MARKETPLACE>_<COUNTRY>_<label>.<csv|xlsx>` and check it against the seeds."""
    match = _FILE_NAME.match(file_name)
    if not match:
        raise RejectedFile(
            "file name does not match <MARKETPLACE>_<COUNTRY>_<label>.<csv|xlsx> "
            "(label: letters, digits, '-', '_', '.')"
        )
    marketplace = match["marketplace"].upper()
    country = match["country"].upper()
    countries = served_countries()
    if marketplace not in countries:
        known = ", ".join(sorted(countries))
        raise RejectedFile(f"unknown marketplace {marketplace!r} (known: {known})")
    if country not in countries[marketplace]:
        known = ", ".join(sorted(countries[marketplace]))
        raise RejectedFile(
            f"country {country!r} is not registered for marketplace {marketplace} (known: {known})"
        )
    return DeliveryName(marketplace, country, match["label"], match["extension"].lower())


def delivery_scope(file_name: str) -> tuple[str, str] | tuple[()]:
    """(MARKETPLACE, COUNTRY) of a delivery name, () when the name does not parse: a
    delivery is its bytes for one marketplace and country, so the same bytes under
    a name for another country are another delivery."""
    match = _FILE_NAME.match(file_name)
    return (match["marketplace"].upper(), match["country"].upper()) if match else ()


@dataclass(frozen=True)
class HeaderMapping:
    """Where each delivered column goes: a contract column or the extra-columns JSON."""

    contract_positions: dict[str, int]  # contract column -> position in the delivered header
    extra_positions: dict[str, int]  # delivered header text (trimmed) -> position
    width: int


def match_header(header: list[object]) -> HeaderMapping:
    """Match delivered header cells to contract columns, case-insensitively after trimming."""
    if not header or all(_header_text(cell) == "" for cell in header):
        raise RejectedFile("empty file: no header row")
    contract_positions: dict[str, int] = {}
    extra_positions: dict[str, int] = {}
    seen: set[str] = set()
    for position, cell in enumerate(header):
        text = _header_text(cell)
        key = text.lower()
        if key in seen and key:
            raise RejectedFile(f"column {text!r} appears more than once in the header")
        seen.add(key)
        if key in CONTRACT_COLUMNS:
            contract_positions[key] = position
        elif key:
            extra_positions[text] = position
        # a blank header cell over an empty column is common in spreadsheets; its
        # values are still kept under a positional name so nothing is lost
        else:
            extra_positions[f"column_{position + 1}"] = position
    missing = [column for column in REQUIRED_COLUMNS if column not in contract_positions]
    if missing:
        raise RejectedFile(f"missing required column(s): {', '.join(missing)}")
    return HeaderMapping(contract_positions, extra_positions, len(header))


def _header_text(cell: object) -> str:
    return "" if cell is None else str(cell).strip()
