"""`make bench`: every goal of the project next to its figure, in one table.

    python -m bench.run --scale small|full|tiny [--repeat 3] [--only CASE ...]

Cases (sizes at --scale full; SCALES has the others):

- setup-duckdb, setup-postgres: the first ingest into a new warehouse (raw tables,
  bundled ECB rates), reported only. Every ingest case below runs on a warehouse
  that had this first ingest already, so it times its own files alone.
- ingest-csv-postgres / ingest-csv-duckdb: a 1M and a 10M-row csv against
  `psql \\copy` / DuckDB `read_csv` into a fresh table.
- ingest-xlsx: 200k and 400k rows against calamine's own read of the sheet.
- generate-events: ~200k and ~1M events.
- ingest-events-duckdb: ~1M and ~10M events against DuckDB `read_json`.
- peak-rss-big-csv: the peak RSS of ingesting a ~1 GB csv.
- nothing-new-deliveries: a full run over 93 small deliveries, then the same
  run again with nothing new.
- full-and-incremental: files + events -> all marts on DuckDB (200k + 200k and
  1M + 1M), then +1 % of both, then a run with nothing new.
- full-and-incremental-spark: the same on Spark (a local session), once per size.
- events-postgres: ~1M and ~10M events on PostgreSQL: the first build, a run with
  nothing new, +1 % events, and (10M) the trailing-4-hour attention query.

Each measurement runs as its own process (median of --repeat runs; the PostgreSQL
builds run once), with the peak RSS from the kernel's accounting for that process.
A case at two sizes prints both rows; the larger one's growth column reads
"x10.0 rows -> x9.3 time": ten times the rows took 9.3 times as long, so the cost
grows linearly; a time factor well above the rows factor means super-linear.
Targets are reported, never asserted: a miss is printed as FAIL, an informational
row as "-". Results: the table on stdout and bench/results/latest.{json,md}.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import build_cases, ingest_cases, report
from bench.measure import Workspace, postgres_available, progress
from bench.report import CaseResult, table, write_results

RESULTS = Path(__file__).resolve().parent / "results"

SCALES = {
    # two sizes per case: (smaller, larger); customers x 7 days: 41k customers ~ 1M events
    "tiny": {
        "csv_rows": (5_000, 20_000),
        "xlsx_rows": (2_000, 4_000),
        "generate_customers": (100, 200),
        "event_customers": 200,
        "event_seeds": (1, 2),  # event folders of 1 and 2 seeds of `event_customers`
        "deliveries": (93, 50),  # files, rows per file
        "run_sizes": ((2_500, 100), (5_000, 200)),  # csv rows, customers
        "big_csv_rows": 20_000,
    },
    "small": {
        "csv_rows": (200_000, 1_000_000),
        "xlsx_rows": (20_000, 40_000),
        "generate_customers": (2_000, 8_000),
        "event_customers": 8_000,
        "event_seeds": (1, 5),
        "deliveries": (93, 500),
        "run_sizes": ((40_000, 1_600), (200_000, 8_000)),
        "big_csv_rows": 1_000_000,
    },
    "full": {
        "csv_rows": (1_000_000, 10_000_000),
        "xlsx_rows": (200_000, 400_000),  # 1M rows of xlsx take minutes to generate
        "generate_customers": (8_200, 41_000),
        "event_customers": 41_000,
        "event_seeds": (1, 10),  # ~1M and ~10M events
        "deliveries": (93, 500),  # ~46k distinct keys
        "run_sizes": ((200_000, 8_200), (1_000_000, 41_000)),
        "big_csv_rows": 6_200_000,  # ~1 GB
    },
}

CASES: dict[str, Callable[[Workspace, dict, int], list[CaseResult]]] = {
    "setup-duckdb": ingest_cases.case_setup_duckdb,
    "setup-postgres": ingest_cases.case_setup_postgres,
    "ingest-csv-postgres": ingest_cases.case_ingest_csv_postgres,
    "ingest-csv-duckdb": ingest_cases.case_ingest_csv_duckdb,
    "ingest-xlsx": ingest_cases.case_ingest_xlsx,
    "generate-events": ingest_cases.case_generate_events,
    "ingest-events-duckdb": ingest_cases.case_ingest_events_duckdb,
    "peak-rss-big-csv": ingest_cases.case_peak_rss_big_csv,
    "nothing-new-deliveries": build_cases.case_nothing_new_deliveries,
    "full-and-incremental": build_cases.case_full_run_and_incremental,
    "full-and-incremental-spark": build_cases.case_full_run_and_incremental_spark,
    "events-postgres": build_cases.case_events_postgres,
}
NEEDS_POSTGRES = {"setup-postgres", "ingest-csv-postgres", "events-postgres"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median)")
    parser.add_argument("--only", nargs="*", choices=CASES, help="run these cases only")
    parser.add_argument("--workdir", type=Path, default=None, help="keep inputs here")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--larger-size-only",
        action="store_true",
        help="measure each case at its larger size only (no growth; the test suite's run)",
    )
    args = parser.parse_args(argv)
    report.LARGER_SIZE_ONLY = args.larger_size_only

    names = reachable(args.only or list(CASES))
    root = args.workdir or Path(tempfile.mkdtemp(prefix="warehouse-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(root)
    results: list[CaseResult] = []
    try:
        for index, name in enumerate(names, start=1):
            progress(f"[{index}/{len(names)}] {name} ({args.scale}) ...")
            results += CASES[name](workspace, SCALES[args.scale], args.repeat)
            # written after every case: a later case failing loses nothing
            write_results(args.results, args.scale, args.repeat, results)
    finally:
        workspace.close()
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    print(table(results))
    return 0


def reachable(names: list[str]) -> list[str]:
    """`names` without the PostgreSQL cases when no server answers (said on stderr)."""
    if postgres_available():
        return names
    skipped = [name for name in names if name in NEEDS_POSTGRES]
    print(f"PostgreSQL is not reachable: skipping {', '.join(skipped)}", file=sys.stderr)
    return [name for name in names if name not in NEEDS_POSTGRES]


if __name__ == "__main__":
    raise SystemExit(main())
