"""`make bench`: every hot path of the project next to the raw tool, in one run.

    python -m bench.run --scale small|full|tiny [--repeat 3] [--only CASE ...]

Each case generates its input deterministically, runs the project's command
and the raw tool as separate processes (median of --repeat runs, peak RSS from
the kernel's accounting for that process) and checks the ratio or absolute
target. Results: a table on stdout and bench/results/latest.{json,md}.
Targets are reported, never asserted: a miss is printed as FAIL honestly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.contract import CONTRACT_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
WAREHOUSE = str(Path(sys.executable).parent / "warehouse")

SCALES = {
    # rows of the marketplace csv, xlsx rows, events (customers x 7 days), big csv rows
    "tiny": {"csv_rows": 5_000, "xlsx_rows": 2_000, "customers": 200, "big_csv_rows": 20_000},
    "small": {
        "csv_rows": 200_000,
        "xlsx_rows": 20_000,
        "customers": 8_000,
        "big_csv_rows": 1_000_000,
    },
    "full": {
        "csv_rows": 1_000_000,
        "xlsx_rows": 200_000,
        "customers": 41_000,  # ~1M events in 7 days
        "big_csv_rows": 6_200_000,  # ~1 GB
    },
}


@dataclass
class Measure:
    seconds: float
    peak_rss_mb: float


@dataclass
class CaseResult:
    case: str
    rows: int
    project_s: float | None
    raw_s: float | None
    peak_rss_mb: float | None
    target: str
    passed: bool
    note: str = ""
    raw_tool: str = ""
    runs: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.project_s is None or not self.raw_s:
            return None
        return self.project_s / self.raw_s


def run_process(command: list[str], env: dict[str, str] | None = None) -> Measure:
    """Wall time and peak RSS of one child process (and nothing else)."""
    with tempfile.TemporaryFile() as errors:  # a pipe would fill up and block the child
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):  # 3: some input rejected, still a completed run
        raise RuntimeError(f"{command[:3]} exited {code}: {stderr[-2000:]}")
    return Measure(seconds, usage.ru_maxrss / 1024)


def median_of(repeat: int, prepare: Callable[[], dict], command: Callable[[dict], list[str]]):
    """Median wall time over `repeat` fresh runs; `prepare` resets state, returns env."""
    measures = []
    for _ in range(repeat):
        env = prepare()
        measures.append(run_process(command(env), env))
    seconds = [m.seconds for m in measures]
    return statistics.median(seconds), max(m.peak_rss_mb for m in measures), seconds


# --- fresh warehouses -----------------------------------------------------------------


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.databases: list[str] = []

    def duckdb_env(self) -> dict[str, str]:
        folder = self.root / f"w-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        return {
            "WAREHOUSE_DUCKDB": str(folder / "warehouse.duckdb"),
            "WAREHOUSE_DLT_DIR": str(folder / "dlt"),
        }

    def postgres_env(self) -> dict[str, str]:
        name = f"warehouse_bench_{uuid.uuid4().hex[:10]}"
        _psql("postgres", f'create database "{name}"')
        self.databases.append(name)
        folder = self.root / name
        folder.mkdir()
        return {"PGDATABASE": name, "WAREHOUSE_DLT_DIR": str(folder / "dlt"), **_pg_defaults()}

    def close(self) -> None:
        for name in self.databases:
            _psql("postgres", f'drop database if exists "{name}" with (force)')


def _pg_defaults() -> dict[str, str]:
    defaults = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres"}
    return {key: os.environ.get(key, value) for key, value in defaults.items()}


def _psql(database: str, statement: str) -> None:
    env = {**os.environ, **_pg_defaults()}
    subprocess.run(
        ["psql", "-q", "-d", database, "-v", "ON_ERROR_STOP=1", "-c", statement],
        env=env,
        check=True,
        capture_output=True,
    )


def postgres_available() -> bool:
    env = {**os.environ, **_pg_defaults()}
    return subprocess.run(["pg_isready", "-q"], env=env).returncode == 0


# --- inputs ---------------------------------------------------------------------------


def marketplace_inbox(root: Path, rows: int) -> Path:
    inbox = root / f"inbox-csv-{rows}"
    if not inbox.exists():
        inbox.mkdir()
        _python(
            "from pathlib import Path; from samples.marketplace_files import write_large_csv; "
            f"write_large_csv(Path({str(inbox / 'GDN_SG_bench.csv')!r}), {rows})"
        )
    return inbox


def xlsx_inbox(root: Path, rows: int) -> Path:
    inbox = root / f"inbox-xlsx-{rows}"
    if not inbox.exists():
        inbox.mkdir()
        _python(
            "from pathlib import Path; from samples.marketplace_files import write_large_xlsx; "
            f"write_large_xlsx(Path({str(inbox / 'GDN_SG_bench.xlsx')!r}), {rows})"
        )
    return inbox


def events_folder(root: Path, customers: int, seed: int = 7) -> Path:
    folder = root / f"events-{customers}-{seed}"
    if not folder.exists():
        subprocess.run(
            [WAREHOUSE, "generate-events", "--customers", str(customers), "--days", "7",
             "--seed", str(seed), "--out", str(folder), "--quiet"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return folder


def _python(code: str) -> None:
    subprocess.run([PYTHON, "-c", code], check=True, cwd=ROOT)


def count_lines(folder: Path) -> int:
    return sum(sum(1 for _ in path.open("rb")) for path in folder.glob("*.jsonl"))


# --- cases ----------------------------------------------------------------------------

RAW_TEXT_TABLE = ", ".join(f"{name} text" for name in CONTRACT_COLUMNS)


def case_ingest_csv_postgres(ws: Workspace, scale: dict, repeat: int) -> CaseResult:
    rows = scale["csv_rows"]
    inbox = marketplace_inbox(ws.root, rows)
    csv_file = next(inbox.glob("*.csv"))
    project_s, rss, runs = median_of(
        repeat,
        ws.postgres_env,
        lambda env: [WAREHOUSE, "ingest", "--target", "postgres", "--inbox", str(inbox)],
    )

    def prepare_copy() -> dict:
        env = ws.postgres_env()
        _psql(env["PGDATABASE"], f"create table copy_target ({RAW_TEXT_TABLE})")
        return env

    raw_s, _, _ = median_of(
        repeat,
        prepare_copy,
        lambda env: ["psql", "-q", "-d", env["PGDATABASE"], "-c",
                     f"\\copy copy_target from '{csv_file}' csv header"],
    )  # fmt: skip
    return _ratio_result("ingest csv -> PostgreSQL raw", rows, project_s, raw_s, rss, 1.5,
                         "psql \\copy", runs)  # fmt: skip


def case_ingest_csv_duckdb(ws: Workspace, scale: dict, repeat: int) -> CaseResult:
    rows = scale["csv_rows"]
    inbox = marketplace_inbox(ws.root, rows)
    csv_file = next(inbox.glob("*.csv"))
    project_s, rss, runs = median_of(
        repeat, ws.duckdb_env, lambda env: [WAREHOUSE, "ingest", "--inbox", str(inbox)]
    )
    raw_s, _, _ = median_of(
        repeat,
        ws.duckdb_env,
        lambda env: [PYTHON, "-c",
                     "import duckdb, sys; duckdb.connect(sys.argv[1]).execute("
                     "\"create table t as select * from "
                     "read_csv(?, all_varchar=true, header=true)\", [sys.argv[2]])",
                     env["WAREHOUSE_DUCKDB"], str(csv_file)],
    )  # fmt: skip
    return _ratio_result("ingest csv -> DuckDB raw", rows, project_s, raw_s, rss, 1.3,
                         "DuckDB read_csv", runs)  # fmt: skip


def case_ingest_xlsx(ws: Workspace, scale: dict, repeat: int) -> CaseResult:
    rows = scale["xlsx_rows"]
    inbox = xlsx_inbox(ws.root, rows)
    xlsx_file = next(inbox.glob("*.xlsx"))
    project_s, rss, runs = median_of(
        repeat, ws.duckdb_env, lambda env: [WAREHOUSE, "ingest", "--inbox", str(inbox)]
    )
    raw_s, _, _ = median_of(
        repeat,
        dict,
        lambda env: [PYTHON, "-c",
                     "import sys, pyarrow as pa; from python_calamine import CalamineWorkbook; "
                     "rows = CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0)"
                     ".to_python(); "
                     "pa.table(list(zip(*rows[1:])), names=[str(c) for c in rows[0]])",
                     str(xlsx_file)],
    )  # fmt: skip
    return _ratio_result("ingest xlsx -> DuckDB raw", rows, project_s, raw_s, rss, 1.3,
                         "calamine sheet -> Arrow", runs)  # fmt: skip


def case_generate_events(ws: Workspace, scale: dict, repeat: int) -> CaseResult:
    customers = scale["customers"]

    def prepare() -> dict:
        shutil.rmtree(ws.root / "generated", ignore_errors=True)
        return {}

    project_s, rss, runs = median_of(
        repeat,
        prepare,
        lambda env: [WAREHOUSE, "generate-events", "--customers", str(customers), "--days", "7",
                     "--out", str(ws.root / "generated"), "--quiet"],
    )  # fmt: skip
    events = count_lines(ws.root / "generated")
    limit = 10.0 * events / 1_000_000  # the target: 1M events in under 10 s
    return CaseResult("generate events", events, project_s, None, rss,
                      f"< {limit:.1f} s (10 s per 1M)", project_s < limit, runs=runs)  # fmt: skip


def case_ingest_events_duckdb(ws: Workspace, scale: dict, repeat: int) -> CaseResult:
    folder = events_folder(ws.root, scale["customers"])
    events = count_lines(folder)
    project_s, rss, runs = median_of(
        repeat, ws.duckdb_env, lambda env: [WAREHOUSE, "ingest", "--events", str(folder)]
    )
    raw_s, _, _ = median_of(
        repeat,
        ws.duckdb_env,
        lambda env: [PYTHON, "-c",
                     "import duckdb, sys; duckdb.connect(sys.argv[1]).execute("
                     "\"create table t as select * from read_json(?, format='newline_delimited')\""
                     ", [sys.argv[2] + '/*.jsonl'])",
                     env["WAREHOUSE_DUCKDB"], str(folder)],
    )  # fmt: skip
    return _ratio_result("ingest events (JSONL) -> DuckDB raw", events, project_s, raw_s, rss,
                         1.5, "DuckDB read_json", runs)  # fmt: skip


def case_full_run_and_incremental(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    """Files and events -> all marts on DuckDB, then +1 % of both and an incremental run."""
    inbox = marketplace_inbox(ws.root, scale["csv_rows"])
    events = events_folder(ws.root, scale["customers"])
    more_events = events_folder(ws.root, max(1, scale["customers"] // 100), seed=99)
    full_runs, incremental_runs, rss = [], [], 0.0
    for _ in range(repeat):
        env = ws.duckdb_env()
        run_inbox = ws.root / f"run-{uuid.uuid4().hex[:8]}"
        shutil.copytree(inbox, run_inbox / "files")
        shutil.copytree(events, run_inbox / "events")
        command = [WAREHOUSE, "run", "--quiet", "--inbox", str(run_inbox / "files"),
                   "--events", str(run_inbox / "events")]  # fmt: skip
        full = run_process(command, env)
        _add_one_percent(run_inbox, more_events, scale["csv_rows"])
        incremental = run_process(command, env)
        full_runs.append(full.seconds)
        incremental_runs.append(incremental.seconds)
        rss = max(rss, full.peak_rss_mb, incremental.peak_rss_mb)
        shutil.rmtree(run_inbox)
    rows = scale["csv_rows"] + count_lines(events)
    full_s, incremental_s = statistics.median(full_runs), statistics.median(incremental_runs)
    limit = 60.0 * rows / 2_000_000
    return [
        CaseResult("full run: files + events -> all marts, DuckDB", rows, full_s, None, rss,
                   f"< {limit:.0f} s (60 s per 1M + 1M)", full_s < limit, runs=full_runs),
        CaseResult("incremental run after +1 % files and events", rows // 100, incremental_s,
                   full_s, rss, "<= 10 % of the full run", incremental_s <= 0.10 * full_s,
                   raw_tool="the full run", runs=incremental_runs),
    ]  # fmt: skip


def _add_one_percent(run_inbox: Path, more_events: Path, csv_rows: int) -> None:
    for path in more_events.glob("*.jsonl"):
        shutil.copy(path, run_inbox / "events" / f"more_{path.name}")
    _python(
        "from pathlib import Path; from samples.marketplace_files import write_large_csv; "
        f"write_large_csv(Path({str(run_inbox / 'files' / 'SEV_TH_more.csv')!r}), "
        f"{max(1, csv_rows // 100)}, seed=99, marketplace='SEV', country='TH')"
    )


def case_attention_query(ws: Workspace, scale: dict, repeat: int) -> CaseResult:
    """The trailing-4-hour query on PostgreSQL after ingesting and building the events."""
    env = ws.postgres_env()
    folders = [events_folder(ws.root, scale["customers"], seed) for seed in _attention_seeds(scale)]
    inbox = ws.root / f"attention-{uuid.uuid4().hex[:6]}"
    inbox.mkdir()
    for seed, folder in zip(_attention_seeds(scale), folders, strict=True):
        for path in folder.glob("*.jsonl"):
            os.link(path, inbox / f"s{seed}_{path.name}")
    run_process([WAREHOUSE, "run", "--target", "postgres", "--quiet", "--events", str(inbox)], env)
    output = subprocess.run(
        [PYTHON, "-m", "bench.attention_query", "--target", "postgres", "--runs", "100"],
        env={**os.environ, **env}, capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    median_ms = float(output.split("median ")[1].split(" ms")[0])
    p95_ms = float(output.split("p95 ")[1].split(" ms")[0])
    events = count_lines(inbox)
    shutil.rmtree(inbox)
    return CaseResult("trailing-4h attention query, PostgreSQL (median of 100)", events,
                      median_ms / 1000, None, None, "p95 < 10 ms", p95_ms < 10,
                      note=f"p95 {p95_ms:.2f} ms")  # fmt: skip


def _attention_seeds(scale: dict) -> list[int]:
    return list(range(11, 21)) if scale is SCALES["full"] else [11]  # full: ~10M events


def case_peak_rss_big_csv(ws: Workspace, scale: dict, repeat: int) -> CaseResult:
    rows = scale["big_csv_rows"]
    inbox = marketplace_inbox(ws.root, rows)
    size_mb = sum(p.stat().st_size for p in inbox.iterdir()) / 2**20
    env = ws.duckdb_env()
    measure = run_process([WAREHOUSE, "ingest", "--inbox", str(inbox)], env)
    return CaseResult(f"peak RSS ingesting a {size_mb:,.0f} MB csv (DuckDB)", rows,
                      measure.seconds, None, measure.peak_rss_mb, "< 1024 MB",
                      measure.peak_rss_mb < 1024)  # fmt: skip


def _ratio_result(name, rows, project_s, raw_s, rss, limit, raw_tool, runs) -> CaseResult:
    ratio = project_s / raw_s if raw_s else float("inf")
    return CaseResult(name, rows, project_s, raw_s, rss, f"<= {limit}x", ratio <= limit,
                      raw_tool=raw_tool, runs=runs)  # fmt: skip


CASES: dict[str, Callable] = {
    "ingest-csv-postgres": case_ingest_csv_postgres,
    "ingest-csv-duckdb": case_ingest_csv_duckdb,
    "ingest-xlsx": case_ingest_xlsx,
    "generate-events": case_generate_events,
    "ingest-events-duckdb": case_ingest_events_duckdb,
    "full-and-incremental": case_full_run_and_incremental,
    "attention-query": case_attention_query,
    "peak-rss-big-csv": case_peak_rss_big_csv,
}
NEEDS_POSTGRES = {"ingest-csv-postgres", "attention-query"}


# --- report ---------------------------------------------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds:.2f} s"


def table(results: list[CaseResult]) -> str:
    header = "| case | rows | project | raw tool | ratio | peak RSS | target | result |"
    lines = [header, "|---|---:|---:|---|---:|---:|---|---|"]
    for r in results:
        project = _duration(r.project_s)
        raw = f"{r.raw_tool} {r.raw_s:.2f} s" if r.raw_s else "-"
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        rss = f"{r.peak_rss_mb:,.0f} MB" if r.peak_rss_mb else "-"
        verdict = ("pass" if r.passed else "FAIL") + (f" ({r.note})" if r.note else "")
        lines.append(
            f"| {r.case} | {r.rows:,} | {project} | {raw} | {ratio} | {rss} | {r.target} "
            f"| {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median)")
    parser.add_argument("--only", nargs="*", choices=CASES, help="run these cases only")
    parser.add_argument("--workdir", type=Path, default=None, help="keep inputs here")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    scale = SCALES[args.scale]
    names = args.only or list(CASES)
    if not postgres_available():
        skipped = [name for name in names if name in NEEDS_POSTGRES]
        names = [name for name in names if name not in NEEDS_POSTGRES]
        print(f"PostgreSQL is not reachable: skipping {', '.join(skipped)}", file=sys.stderr)
    root = args.workdir or Path(tempfile.mkdtemp(prefix="warehouse-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(root)
    results: list[CaseResult] = []
    try:
        for index, name in enumerate(names, start=1):
            print(f"[{index}/{len(names)}] {name} ({args.scale}) ...", file=sys.stderr, flush=True)
            outcome = CASES[name](workspace, scale, args.repeat)
            results.extend(outcome if isinstance(outcome, list) else [outcome])
            write_results(args, results)  # a later case failing loses nothing
    finally:
        workspace.close()
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    print(table(results))
    return 0


def write_results(args: argparse.Namespace, results: list[CaseResult]) -> None:
    report = table(results)
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (args.results / "latest.md").write_text(
        f"# make bench, scale {args.scale}, {stamp}\n\n{report}\n"
    )
    (args.results / "latest.json").write_text(
        json.dumps(
            {"scale": args.scale, "repeat": args.repeat,
             "results": [asdict(r) | {"ratio": r.ratio} for r in results]},
            indent=2,
        )
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
