"""Build cases: `warehouse run` end to end, then +1 % data, then nothing new.

Each series runs on one fresh warehouse, in order: the full (first) run, the run
after adding ~1 % more input, the run that finds nothing new. The later runs are
judged against the full run of the same warehouse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from bench.inputs import (
    EVENT_SEEDS_FROM,
    MORE_SEED,
    ROOT,
    add_events,
    count_lines,
    deliveries_inbox,
    events_folder,
    events_label,
    events_of_seeds,
    link_tree,
    marketplace_inbox,
    more_files_inbox,
)
from bench.measure import (
    PYTHON,
    WAREHOUSE,
    Measure,
    Timing,
    Workspace,
    progress,
    run_process,
    summary,
    target_args,
    timing_of,
)
from bench.report import INFORMATIONAL, CaseResult, at_two_sizes

INCREMENTAL_SHARE = 0.10  # +1 % data costs at most 10 % of a full build
NOTHING_NEW_SHARE = 0.05  # a run whose ingests found nothing new: under 5 % of the full run
FULL_RUN_SECONDS_PER_2M = 60.0  # files + events, 1M + 1M rows, on DuckDB
FIRST_BUILD_POSTGRES_S = 230.5  # 10M events: half of the 461 s main took before issue 18
ATTENTION_P95_MS = 10.0


def run_command(env: dict, *, inbox: Path | None = None, events: Path | None = None) -> list:
    command = [WAREHOUSE, "run", "--quiet", "--json", *target_args(env)]
    if inbox:
        command += ["--inbox", str(inbox)]
    if events:
        command += ["--events", str(events)]
    return command


def step(name: str, command: list[str], env: dict) -> Measure:
    """One timed `warehouse run`, said on stderr: a 10M-event build takes minutes."""
    progress(f"    {name} ...")
    return run_process(command, env, capture=True)


def build_note(measure: Measure) -> str:
    """What the run's summary says it built: the proof a no-op run did nothing."""
    report = summary(measure)
    plan = report.get("build_plan") or {}
    loaded = sum(ingest.get("files_loaded") or 0 for ingest in report.get("ingests", []))
    if plan.get("skipped"):
        return "nothing new, no build" if loaded == 0 else f"no build: {plan.get('reason')}"
    if plan.get("select"):
        return "built " + " ".join(plan["select"])
    return "built everything" if plan else ""


def build_profile(measure: Measure) -> str:
    """dbt's time of the run's build and its slowest nodes, as the summary reports them."""
    build = summary(measure).get("build") or {}
    if not build.get("slowest"):
        return ""
    nodes = ", ".join(f"{n['node']} {n['seconds']:.1f} s" for n in build["slowest"])
    return f"dbt {build.get('seconds', 0):.1f} s; {nodes}"


def profiled(result: CaseResult, measure: Measure) -> CaseResult:
    result.slowest = build_profile(measure)
    return result


def share_result(
    case: str, rows: int, timing: Timing, full: Timing, share: float, full_name: str, note: str
) -> CaseResult:
    """A run judged as a share of the full run of the same warehouse."""
    return CaseResult(
        case, rows, timing.seconds, full.seconds, timing.peak_rss_mb,
        f"<= {share * 100:.0f} % of the {full_name}", timing.seconds <= share * full.seconds,
        note=note, raw_tool=f"the {full_name}", runs=timing.runs,
    )  # fmt: skip


def informational(case: str, rows: int, timing: Timing, note: str = "") -> CaseResult:
    return CaseResult(case, rows, timing.seconds, None, timing.peak_rss_mb, INFORMATIONAL,
                      None, note=note, runs=timing.runs)  # fmt: skip


# --- nothing new: many small deliveries -----------------------------------------------


def case_nothing_new_deliveries(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    """A full run over many small files, then the same run with nothing new, on DuckDB."""
    files, rows_per_file = scale["deliveries"]
    inbox = deliveries_inbox(ws.root, files, rows_per_file)
    full, again = [], []
    for _ in range(repeat):
        env = ws.duckdb_env()
        command = run_command(env, inbox=inbox)
        full.append(step("full run", command, env))
        again.append(step("nothing new", command, env))
        ws.discard(env)
    rows, full_run = files * rows_per_file, timing_of(full)
    return [
        profiled(informational(f"{files} deliveries: full run -> all marts, DuckDB", rows,
                               full_run, note=f"{files} files"), full[-1]),
        share_result(f"{files} deliveries: run again, nothing new", rows, timing_of(again),
                     full_run, NOTHING_NEW_SHARE, "full run", build_note(again[-1])),
    ]  # fmt: skip


# --- files + events on DuckDB ---------------------------------------------------------


def case_full_run_and_incremental(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    """Files and events -> all marts on DuckDB, +1 % of both, then nothing new."""
    return _full_run_and_incremental(ws, scale["run_sizes"], repeat, ws.duckdb_env, "DuckDB")


def case_full_run_and_incremental_spark(
    ws: Workspace, scale: dict, repeat: int
) -> list[CaseResult]:
    """The same series on Spark (a local session on this machine's cores), once per
    size: a Spark build starts a JVM and a metastore, and runs for minutes."""
    return _full_run_and_incremental(ws, scale["run_sizes"], 1, ws.spark_env, "Spark")


def _full_run_and_incremental(
    ws: Workspace, sizes: tuple, repeat: int, new_env, engine: str
) -> list[CaseResult]:
    """Files and events -> all marts on one engine, +1 % of both, then nothing new."""

    def measure(size: tuple[int, int], _limit: float | None) -> list[CaseResult]:
        csv_rows, customers = size
        inbox = marketplace_inbox(ws.root, csv_rows)
        events = events_folder(ws.root, customers, EVENT_SEEDS_FROM)
        more_rows = max(1, csv_rows // 100)
        more_files = more_files_inbox(ws.root, more_rows)
        more_events = events_folder(ws.root, max(1, customers // 100), MORE_SEED)
        full, incremental, again = [], [], []
        for _ in range(repeat):
            env, run = new_env(), ws.root / f"run-{uuid.uuid4().hex[:8]}"
            command = run_command(env, inbox=link_tree(inbox, run / "files"),
                                  events=link_tree(events, run / "events"))  # fmt: skip
            full.append(step("full run", command, env))
            for path in more_files.iterdir():
                os.link(path, run / "files" / path.name)
            added = more_rows + add_events(run / "events", more_events)
            incremental.append(step("+1 %", command, env))
            again.append(step("nothing new", command, env))
            ws.discard(env)
            shutil.rmtree(run)
        rows, full_run = csv_rows + count_lines(events), timing_of(full)
        return [
            profiled(_full_run_result(engine, rows, full_run), full[-1]),
            profiled(share_result(f"incremental run after +1 % files and events, {engine}", added,
                                  timing_of(incremental), full_run, INCREMENTAL_SHARE,
                                  "full run", build_note(incremental[-1])), incremental[-1]),
            share_result(f"run again, nothing new (files + events, {engine})", rows,
                         timing_of(again), full_run, NOTHING_NEW_SHARE, "full run",
                         build_note(again[-1])),
        ]  # fmt: skip

    label = "{0[0]:,} csv rows + events of {0[1]:,} customers".format
    return at_two_sizes(measure, sizes, (None, None), label)


def _full_run_result(engine: str, rows: int, full_run: Timing) -> CaseResult:
    """DuckDB's full run has a target; Spark's is reported with how it grows."""
    name = f"full run: files + events -> all marts, {engine}"
    if engine != "DuckDB":
        return informational(name, rows, full_run)
    limit = FULL_RUN_SECONDS_PER_2M * rows / 2_000_000
    return CaseResult(name, rows, full_run.seconds, None, full_run.peak_rss_mb,
                      f"< {limit:.3g} s (60 s per 1M + 1M)", full_run.seconds < limit,
                      runs=full_run.runs)  # fmt: skip


# --- events on PostgreSQL -------------------------------------------------------------


def case_events_postgres(ws: Workspace, scale: dict, repeat: int) -> list[CaseResult]:
    """One PostgreSQL warehouse per size: first build, nothing new, +1 %, attention query.

    One run each (the 10M-event first build takes minutes): --repeat does not apply.
    """
    customers, sizes = scale["event_customers"], scale["event_seeds"]

    def measure(seeds: int, first_build_limit: float | None) -> list[CaseResult]:
        events = events_of_seeds(ws.root, customers, seeds)
        more_events = events_folder(ws.root, max(1, customers * seeds // 100), MORE_SEED)
        env, run_events = ws.postgres_env(), ws.root / f"run-{uuid.uuid4().hex[:8]}"
        command = run_command(env, events=link_tree(events, run_events))
        first = step("first build", command, env)
        again = step("nothing new", command, env)
        added = add_events(run_events, more_events)
        incremental = step("+1 %", command, env)
        rows, first_build = count_lines(events), timing_of([first])
        results = [
            profiled(_first_build_result(rows, first_build, first_build_limit), first),
            share_result("run again, nothing new (events, PostgreSQL)", rows,
                         timing_of([again]), first_build, NOTHING_NEW_SHARE, "first build",
                         build_note(again)),
            profiled(share_result("incremental run after +1 % events, PostgreSQL", added,
                                  timing_of([incremental]), first_build, INCREMENTAL_SHARE,
                                  "first build", build_note(incremental)), incremental),
        ]  # fmt: skip
        if seeds == sizes[-1]:  # the query needs the big warehouse only
            results.append(attention_query(env, rows + added))
        ws.discard(env)
        shutil.rmtree(run_events)
        return results

    return at_two_sizes(measure, sizes, (None, FIRST_BUILD_POSTGRES_S), events_label(customers))


def _first_build_result(rows: int, timing: Timing, limit: float | None) -> CaseResult:
    case = "first build: events -> all marts, PostgreSQL"
    if limit is None:
        return informational(case, rows, timing, note="1 run")
    return CaseResult(case, rows, timing.seconds, None, timing.peak_rss_mb,
                      f"<= {limit} s (half of main's 461 s)", timing.seconds <= limit,
                      note="1 run", runs=timing.runs)  # fmt: skip


def attention_query(env: dict, events: int) -> CaseResult:
    """The trailing-4-hour query on the warehouse the runs above built."""
    output = subprocess.run(
        [PYTHON, "-m", "bench.attention_query", "--target", "postgres", "--runs", "100"],
        env={**os.environ, **env}, capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    median_ms = float(output.split("median ")[1].split(" ms")[0])
    p95_ms = float(output.split("p95 ")[1].split(" ms")[0])
    return CaseResult("trailing-4h attention query, PostgreSQL (median of 100)", events,
                      median_ms / 1000, None, None, f"p95 < {ATTENTION_P95_MS:.0f} ms",
                      p95_ms < ATTENTION_P95_MS, note=f"p95 {p95_ms:.2f} ms")  # fmt: skip
