"""Ingest cases: each input format next to its raw tool, at two sizes.

The project's ingest is timed on a warehouse that already had its first ingest
(raw tables, bundled ECB rates): that one-time setup is a row of its own. The raw
tools get a fresh table every run.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Callable

from bench.inputs import (
    count_lines,
    events_label,
    events_of_seeds,
    marketplace_inbox,
    xlsx_inbox,
)
from bench.measure import (
    PYTHON,
    WAREHOUSE,
    Timing,
    Workspace,
    median_of,
    psql,
    run_process,
    summary,
    target_args,
)
from bench.report import INFORMATIONAL, CaseResult, at_two_sizes, ratio_result
from ingest.contract import CONTRACT_COLUMNS

# ratio targets at the (smaller, larger) size; None: reported only (issue 18)
CSV_POSTGRES_LIMITS = (2.0, 1.3)  # x psql \copy, at 1M and 10M rows
CSV_DUCKDB_LIMITS = (1.5, 1.2)  # x DuckDB read_csv, at 1M and 10M rows
XLSX_LIMITS = (1.3, 1.3)  # x calamine's own read
EVENTS_LIMITS = (2.0, None)  # x DuckDB read_json: at 1M events; 10M shows the growth
GENERATE_SECONDS_PER_MILLION = 10.0
PEAK_RSS_LIMIT_MB = 1024

RAW_TEXT_TABLE = ", ".join(f"{name} text" for name in CONTRACT_COLUMNS)


def raw_tool(name: str, *arguments) -> list[str]:
    return [PYTHON, "-m", "bench.raw_tools", name, *map(str, arguments)]


def project_ingest(
    ws: Workspace, new_warehouse: Callable[[], dict], source: list[str], repeat: int
) -> Timing:
    """`warehouse ingest <source>`, each run on a new, initialised warehouse."""
    return median_of(
        repeat,
        lambda: ws.initialised(new_warehouse()),
        lambda env: [WAREHOUSE, "ingest", *target_args(env), *source],
        ws.discard,
    )


# --- first ingest ---------------------------------------------------------------------


def case_setup_duckdb(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    return [_first_ingest(ws, ws.duckdb_env, "DuckDB", repeat)]


def case_setup_postgres(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    return [_first_ingest(ws, ws.postgres_env, "PostgreSQL", repeat)]


def _first_ingest(
    ws: Workspace, new_warehouse: Callable[[], dict], label: str, repeat: int
) -> CaseResult:
    measures = []
    for _ in range(repeat):
        env = new_warehouse()
        measures.append(ws.first_ingest(env))
        ws.discard(env)
    ingests = summary(measures[-1]).get("ingests", [])
    rows = sum(ingest.get("rows_landed") or 0 for ingest in ingests)  # the ECB rates
    seconds = [m.seconds for m in measures]
    return CaseResult(
        f"first ingest into a new warehouse: setup (tables, ECB rates), {label}",
        rows, statistics.median(seconds), None, max(m.peak_rss_mb for m in measures),
        INFORMATIONAL, None, note="once per warehouse", runs=seconds,
    )  # fmt: skip


# --- files ----------------------------------------------------------------------------


def case_ingest_csv_postgres(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    def measure(rows: int, limit: float | None) -> list[CaseResult]:
        inbox = marketplace_inbox(ws.root, rows)
        csv_file = next(inbox.glob("*.csv"))
        project = project_ingest(ws, ws.postgres_env, ["--inbox", str(inbox)], repeat)

        def copy_target() -> dict:
            env = ws.postgres_env()
            psql(env["PGDATABASE"], f"create table copy_target ({RAW_TEXT_TABLE})")
            return env

        raw = median_of(
            repeat,
            copy_target,
            lambda env: ["psql", "-q", "-d", env["PGDATABASE"], "-c",
                         f"\\copy copy_target from '{csv_file}' csv header"],
            ws.discard,
        )  # fmt: skip
        case = "ingest csv -> PostgreSQL raw"
        return [ratio_result(case, rows, project, raw, limit, "psql \\copy")]

    return at_two_sizes(measure, scale["csv_rows"], CSV_POSTGRES_LIMITS)


def case_ingest_csv_duckdb(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    def measure(rows: int, limit: float | None) -> list[CaseResult]:
        inbox = marketplace_inbox(ws.root, rows)
        csv_file = next(inbox.glob("*.csv"))
        project = project_ingest(ws, ws.duckdb_env, ["--inbox", str(inbox)], repeat)
        raw = median_of(
            repeat,
            ws.duckdb_env,
            lambda env: raw_tool("duckdb-csv", env["WAREHOUSE_DUCKDB"], csv_file),
            ws.discard,
        )
        case = "ingest csv -> DuckDB raw"
        return [ratio_result(case, rows, project, raw, limit, "DuckDB read_csv")]

    return at_two_sizes(measure, scale["csv_rows"], CSV_DUCKDB_LIMITS)


def case_ingest_xlsx(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    def measure(rows: int, limit: float | None) -> list[CaseResult]:
        inbox = xlsx_inbox(ws.root, rows)
        xlsx_file = next(inbox.glob("*.xlsx"))
        project = project_ingest(ws, ws.duckdb_env, ["--inbox", str(inbox)], repeat)
        raw = median_of(repeat, dict, lambda env: raw_tool("calamine", xlsx_file))
        case = "ingest xlsx -> DuckDB raw"
        return [ratio_result(case, rows, project, raw, limit, "calamine sheet -> Arrow")]

    return at_two_sizes(measure, scale["xlsx_rows"], XLSX_LIMITS)


def case_peak_rss_big_csv(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    rows = scale["big_csv_rows"]
    inbox = marketplace_inbox(ws.root, rows)
    size_mb = sum(p.stat().st_size for p in inbox.iterdir()) / 2**20
    env = ws.initialised(ws.duckdb_env())
    measure = run_process([WAREHOUSE, "ingest", "--inbox", str(inbox)], env)
    ws.discard(env)
    return [
        CaseResult(f"peak RSS ingesting a {size_mb:,.0f} MB csv (DuckDB)", rows,
                   measure.seconds, None, measure.peak_rss_mb, f"< {PEAK_RSS_LIMIT_MB} MB",
                   measure.peak_rss_mb < PEAK_RSS_LIMIT_MB)
    ]  # fmt: skip


# --- events ---------------------------------------------------------------------------


def case_generate_events(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    def measure(customers: int, _limit: float | None) -> list[CaseResult]:
        out = ws.root / "generated"

        def empty_out() -> dict:
            shutil.rmtree(out, ignore_errors=True)
            return {}

        timing = median_of(
            repeat,
            empty_out,
            lambda env: [WAREHOUSE, "generate-events", "--customers", str(customers),
                         "--days", "7", "--out", str(out), "--quiet"],
        )  # fmt: skip
        events = count_lines(out)
        limit = GENERATE_SECONDS_PER_MILLION * events / 1_000_000
        return [
            CaseResult("generate events", events, timing.seconds, None, timing.peak_rss_mb,
                       f"< {limit:.3g} s (10 s per 1M)", timing.seconds < limit,
                       runs=timing.runs)
        ]  # fmt: skip

    sizes = scale["generate_customers"]
    return at_two_sizes(measure, sizes, (None, None), "{:,} customers x 7 days".format)


def case_ingest_events_duckdb(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    def measure(seeds: int, limit: float | None) -> list[CaseResult]:
        folder = events_of_seeds(ws.root, scale["event_customers"], seeds)
        project = project_ingest(ws, ws.duckdb_env, ["--events", str(folder)], repeat)
        raw = median_of(
            repeat,
            ws.duckdb_env,
            lambda env: raw_tool("duckdb-json", env["WAREHOUSE_DUCKDB"], folder),
            ws.discard,
        )
        case = "ingest events (JSONL) -> DuckDB raw"
        events = count_lines(folder)
        return [ratio_result(case, events, project, raw, limit, "DuckDB read_json")]

    label = events_label(scale["event_customers"])
    return at_two_sizes(measure, scale["event_seeds"], EVENTS_LIMITS, label)
