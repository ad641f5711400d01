"""Deterministic inputs, generated once and cached under the work folder.

Generation runs in child processes: a 10M-row frame takes gigabytes, which the
bench process should not keep for the rest of the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from bench.measure import PYTHON, WAREHOUSE, progress

ROOT = Path(__file__).resolve().parents[1]

# (marketplace, country) pairs of dbt_project/seeds/marketplace_countries.csv
DELIVERY_PAIRS = (
    ("GDN", "ID"), ("GDN", "MY"), ("GDN", "PH"), ("GDN", "SG"), ("GDN", "TH"),
    ("SEV", "MY"), ("SEV", "PH"), ("SEV", "SG"), ("SEV", "TH"),
)  # fmt: skip
EVENT_SEEDS_FROM = 11  # a folder of n seeds holds seeds 11 .. 11 + n - 1
MORE_SEED = 99  # the +1 % inputs: a seed no base input uses


def cached(folder: Path, fill: Callable[[Path], None]) -> Path:
    """`folder` as an earlier run left it, else filled now.

    `fill` writes into a scratch folder renamed at the end, so an interrupted
    generation is never mistaken for a finished one.
    """
    if folder.exists():
        return folder
    progress(f"  generating {folder.name} ...")
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    fill(scratch)
    scratch.rename(folder)
    return folder


def marketplace_inbox(root: Path, rows: int) -> Path:
    """One GDN_SG csv of `rows` distinct keys."""
    return cached(root / f"inbox-csv-{rows}", lambda out: write_csv(out / "GDN_SG_bench.csv", rows))


def xlsx_inbox(root: Path, rows: int) -> Path:
    def fill(out: Path) -> None:
        _in_child(
            "from pathlib import Path; from samples.marketplace_files import write_large_xlsx; "
            f"write_large_xlsx(Path({str(out / 'GDN_SG_bench.xlsx')!r}), {rows})"
        )

    return cached(root / f"inbox-xlsx-{rows}", fill)


def deliveries_inbox(root: Path, files: int, rows_per_file: int) -> Path:
    """Many small deliveries over every marketplace and country, each of its own seed."""

    def fill(out: Path) -> None:
        _in_child(
            "from pathlib import Path; from samples.marketplace_files import write_large_csv\n"
            f"pairs = {DELIVERY_PAIRS!r}\n"
            f"for i in range({files}):\n"
            "    marketplace, country = pairs[i % len(pairs)]\n"
            "    name = f'{marketplace}_{country}_delivery-{i:03d}.csv'\n"
            f"    path = Path({str(out)!r}) / name\n"
            f"    write_large_csv(path, {rows_per_file}, seed=1000 + i,"
            " marketplace=marketplace, country=country)\n"
        )

    return cached(root / f"inbox-deliveries-{files}x{rows_per_file}", fill)


def write_csv(
    path: Path, rows: int, *, seed: int = 7, marketplace: str = "GDN", country: str = "SG"
) -> None:
    _in_child(
        "from pathlib import Path; from samples.marketplace_files import write_large_csv; "
        f"write_large_csv(Path({str(path)!r}), {rows}, seed={seed}, "
        f"marketplace={marketplace!r}, country={country!r})"
    )


def events_folder(root: Path, customers: int, seed: int) -> Path:
    """A week of web-shop events of `customers` customers (41k: ~1M events)."""

    def fill(out: Path) -> None:
        subprocess.run(
            [WAREHOUSE, "generate-events", "--customers", str(customers), "--days", "7",
             "--seed", str(seed), "--out", str(out), "--quiet"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    return cached(root / f"events-{customers}-{seed}", fill)


def events_of_seeds(root: Path, customers: int, seeds: int) -> Path:
    """`seeds` event folders side by side in one folder (hard links: no copy)."""

    def fill(out: Path) -> None:
        for seed in range(EVENT_SEEDS_FROM, EVENT_SEEDS_FROM + seeds):
            for path in events_folder(root, customers, seed).glob("*.jsonl"):
                os.link(path, out / f"s{seed}_{path.name}")

    return cached(root / f"events-{customers}x{seeds}", fill)


def events_label(customers: int) -> Callable[[int], str]:
    """How a case names its size in the progress lines: seeds of `customers` customers."""
    return lambda seeds: f"{seeds} seed(s) x {customers:,} customers of events"


def link_tree(source: Path, target: Path) -> Path:
    """A copy of `source` that a run may add files to, without copying any bytes."""
    shutil.copytree(source, target, copy_function=os.link)
    return target


def add_events(events: Path, more: Path) -> int:
    """Copy the events of `more` in next to the others; returns how many were added."""
    for path in more.glob("*.jsonl"):
        shutil.copy(path, events / f"more_{path.name}")
    return count_lines(more)


def more_files_inbox(root: Path, rows: int) -> Path:
    """The +1 % of a file run: one more delivery, of a marketplace the base files lack."""

    def fill(out: Path) -> None:
        write_csv(out / "SEV_TH_more.csv", rows, seed=MORE_SEED, marketplace="SEV", country="TH")

    return cached(root / f"inbox-more-{rows}", fill)


def count_lines(folder: Path) -> int:
    """Events in a folder: one per line (read in blocks: 10M events are gigabytes)."""
    return sum(_count_newlines(path) for path in folder.glob("*.jsonl"))


def _count_newlines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))


def _in_child(code: str) -> None:
    subprocess.run([PYTHON, "-c", code], check=True, cwd=ROOT)
