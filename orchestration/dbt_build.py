"""Run `dbt build` and `dbt source freshness` in-process (one dbt start-up per
pipeline run) and summarise them."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest import settings
from ingest.faults import fault_point, injected_fault
from ingest.pipeline import ensure_raw_tables
from ingest.progress import ProgressLine


@dataclass
class BuildReport:
    success: bool
    counts: Counter = field(default_factory=Counter)  # (resource type, status) -> nodes
    failures: list[str] = field(default_factory=list)
    log_path: Path | None = None  # dbt's full log of this build
    # (node, seconds) of the nodes that took longest: where a slow build's time went
    slowest: list[tuple[str, float]] = field(default_factory=list)
    seconds: float = 0.0  # dbt's own elapsed time of the build

    def lines(self) -> list[str]:
        built = sum(n for (kind, status), n in self.counts.items() if kind in _BUILT)
        tests = Counter()
        for (kind, status), n in self.counts.items():
            if kind in _TESTS:
                tests[status] += n
        others = "".join(
            f", {n} {status}" for status, n in sorted(tests.items()) if status != "pass"
        )
        line = (
            f"dbt build: {built} models/seeds/snapshots built, {tests['pass']} tests passed{others}"
        )
        return [line] + [f"  failed: {name}" for name in self.failures]


_BUILT = {"model", "seed", "snapshot"}
_TESTS = {"test", "unit_test"}

# dbt's data tests look only at the rows this build staged or recomputed
# (macros/get_where_subquery.sql); without it they test every row. The macro reads
# this variable where no `--vars '{data_tests_scope: ...}'` says otherwise: a var
# that changes from one dbt invocation to the next makes dbt parse the whole
# project again, an environment variable read only while tests run does not.
DATA_TESTS_SCOPE_VARIABLE = "WAREHOUSE_DATA_TESTS_SCOPE"


def data_tests_scope(new_loads_only: bool):
    """The scope of dbt's data tests while the `with` block runs: the rows of new
    loads, or every row."""
    return _environment({DATA_TESTS_SCOPE_VARIABLE: "new_loads" if new_loads_only else "all"})


def dbt_build(
    target: str,
    extra_args: list[str] | None = None,
    quiet: bool = False,
    unit_tests: bool = False,
    verbose: bool = False,
    tests_on_new_loads_only: bool = False,
    manifest: Any = None,
) -> BuildReport:
    """`dbt build` with data tests (on every row, or with `tests_on_new_loads_only` on
    the rows of new loads). Unit tests check SQL logic against fixtures, not
    data: as dbt recommends, they run in CI (`make test`), not in every scheduled
    build, unless asked for. dbt's log goes to its file (`BuildReport.log_path`);
    with `verbose` dbt also prints it, otherwise one progress line (none if `quiet`).
    `manifest` (parse_project's) spares dbt parsing the project again."""
    from dbt.cli.main import dbtRunner  # imported late: dbt takes a second to import

    ensure_raw_tables(target)  # sources that never loaded still get (empty) raw tables

    args = dbt_args(["build"], target, verbose)
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    progress = None if (quiet or verbose) else ProgressLine("dbt build nodes")
    with (
        _environment(settings.dbt_environment(target)),
        data_tests_scope(tests_on_new_loads_only),
    ):
        runner = dbtRunner(manifest=manifest, callbacks=[_on_event(progress)])
        result = runner.invoke(args + (extra_args or []))
    report = _report(result, target_path(target))
    if progress is not None:
        nodes = sum(report.counts.values())
        progress.finish(nodes, nodes)
    report.log_path = _log_path(target) / "dbt.log"
    return report


def parse_project(target: str, extra_args: list[str] | None = None) -> Any:
    """dbt's manifest of the project (partial parsing: only changed files are parsed),
    for the invocations of one run to share; None when it does not parse (the build
    then reports why)."""
    from dbt.cli.main import dbtRunner

    with _environment(settings.dbt_environment(target)):
        result = dbtRunner().invoke(dbt_args(["parse"], target) + (extra_args or []))
    return result.result if result.success else None


def target_path(target: str) -> Path:
    """dbt's artifacts (manifest.json, ...) of this warehouse: one target folder per
    warehouse, so concurrent builds of different warehouses (tests, a scheduler)
    never overwrite each other's artifacts."""
    return settings.DBT_PROJECT_DIR / "target" / _folder(target)


def _folder(target: str) -> str:
    return f"{target}-{settings.warehouse_identity(target)}"


def _log_path(target: str) -> Path:
    return settings.dbt_log_dir() / _folder(target)


def dbt_args(command: list[str], target: str, verbose: bool = False) -> list[str]:
    """A dbt command line for this project and warehouse; dbt's log goes to its file
    (and, with `verbose`, to the screen too)."""
    args = [
        *command,
        "--project-dir",
        str(settings.DBT_PROJECT_DIR),
        "--profiles-dir",
        str(settings.DBT_PROJECT_DIR),
        "--target",
        settings.dbt_target_name(target),
        "--target-path",
        str(target_path(target)),
        "--log-path",
        str(_log_path(target)),
    ]
    if not verbose:  # the file log keeps everything
        args += ["--log-level", "none", "--log-level-file", "debug"]
    return args


@dataclass
class SourceFreshness:
    """One source table's freshness: dbt's status (pass, warn, error) and the age of
    its newest landing (None when nothing ever landed)."""

    source: str  # source_name.table_name
    status: str
    age_seconds: float | None
    warn_after_hours: float | None
    error_after_hours: float | None

    @property
    def stale(self) -> bool:
        return self.status in ("warn", "error") and self.age_seconds is not None

    def line(self) -> str:
        limit = self.error_after_hours if self.status == "error" else self.warn_after_hours
        over = f": older than {limit:g} h" if limit is not None else ""
        return (
            f"stale source {self.source}: newest data {_age(self.age_seconds or 0)} old "
            f"({self.status}{over})"
        )

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "status": self.status if self.age_seconds is not None else "never loaded",
            "age_hours": None if self.age_seconds is None else round(self.age_seconds / 3600, 2),
            "warn_after_hours": self.warn_after_hours,
            "error_after_hours": self.error_after_hours,
        }


@dataclass
class FreshnessReport:
    sources: list[SourceFreshness] = field(default_factory=list)
    problem: str | None = None  # why freshness could not be checked

    @property
    def stale(self) -> list[SourceFreshness]:
        return [source for source in self.sources if source.stale]

    def lines(self) -> list[str]:
        """One line per stale source. A source that never loaded is not stale: a
        warehouse may take only marketplace files, or only web-shop events."""
        lines = [source.line() for source in self.stale]
        if self.problem:
            lines.append(f"source freshness not checked: {self.problem}")
        return lines

    def as_dict(self) -> dict:
        return {
            "checked": self.problem is None,
            "problem": self.problem,
            "stale": [source.as_dict() for source in self.stale],
            "sources": [source.as_dict() for source in self.sources],
        }


def source_freshness(
    target: str, extra_args: list[str] | None = None, manifest: Any = None
) -> FreshnessReport:
    """`dbt source freshness` of every source table (thresholds: the freshness vars in
    dbt_project.yml). Only reports: a stale source never fails a run."""
    from dbt.cli.main import dbtRunner

    output = target_path(target) / FRESHNESS_ARTIFACT
    output.unlink(missing_ok=True)  # never read an earlier run's verdict
    args = dbt_args(["source", "freshness"], target) + ["--output", str(output)]
    with _environment(settings.dbt_environment(target)):
        result = dbtRunner(manifest=manifest).invoke(args + (extra_args or []))
    if result.exception is not None or not output.exists():
        return FreshnessReport(problem=_first_line(result.exception or "dbt wrote no results"))
    return freshness_in_sources_json(json.loads(output.read_text()))


FRESHNESS_ARTIFACT = "sources.json"


def freshness_in_sources_json(artifact: dict) -> FreshnessReport:
    """The report of one `dbt source freshness`, from its sources.json (the artifact of
    an in-process run or of a dbt process, e.g. Dagster's)."""
    report = FreshnessReport()
    for result in artifact.get("results", []):
        source = ".".join(result["unique_id"].split(".")[-2:])  # source_name.table_name
        if "max_loaded_at" not in result:  # its query failed
            problem = f"{source}: {_first_line(result.get('error'))}"
            report.problem = report.problem or problem
            continue
        criteria = result.get("criteria") or {}
        never_loaded = result["max_loaded_at"].startswith("0001-")  # dbt's max() of nothing
        report.sources.append(
            SourceFreshness(
                source=source,
                status=result["status"],
                age_seconds=None if never_loaded else float(result["max_loaded_at_time_ago_in_s"]),
                warn_after_hours=_threshold_hours(criteria.get("warn_after")),
                error_after_hours=_threshold_hours(criteria.get("error_after")),
            )
        )
    report.sources.sort(key=lambda source: source.source)
    return report


_HOURS_PER = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}


def _threshold_hours(threshold: dict | None) -> float | None:
    if not threshold or threshold.get("count") is None:
        return None
    return threshold["count"] * _HOURS_PER[threshold["period"]]


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _on_event(progress: ProgressLine | None) -> Callable:
    kill_after = (injected_fault() or "").removeprefix("dbt:after:") or None
    done = 0

    def on_event(event) -> None:
        nonlocal done
        name = event.info.name
        if name == "NodeFinished" and kill_after == event.data.node_info.node_name:
            fault_point(injected_fault())  # tests only: die right after that node
        if progress is None or not (name.startswith("Log") and name.endswith("Result")):
            return
        total = getattr(event.data, "total", 0) or getattr(event.data, "num_models", 0)
        if total:  # a node's result: models, seeds and snapshots say `total`, tests `num_models`
            done += 1
            node = getattr(event.data, "description", "") or getattr(event.data, "name", "")
            progress.update(min(done, total), total, node)

    return on_event


SLOWEST_NODES = 5


def _report(result, target_path: Path | None = None) -> BuildReport:
    report = BuildReport(success=bool(result.success))
    node_results = getattr(result.result, "results", None) or []
    report.seconds = float(getattr(result.result, "elapsed_time", 0.0) or 0.0)
    report.slowest = _slowest(node_results)
    for node_result in node_results:
        kind = str(node_result.node.resource_type)
        status = str(node_result.status)
        if kind in _BUILT and status != "success":
            kind = f"{kind} {status}"  # not built; listed below if it failed
        report.counts[(kind, status)] += 1
        if status in {"error", "fail"}:
            report.failures.append(_failure(kind, status, node_result, target_path))
    if result.exception is not None:
        report.failures.append(f"dbt could not run: {_first_line(result.exception)}")
    return report


def _slowest(node_results) -> list[tuple[str, float]]:
    timed = sorted(node_results, key=lambda result: -(result.execution_time or 0.0))
    return [
        (result.node.name, round(result.execution_time or 0.0, 2))
        for result in timed[:SLOWEST_NODES]
    ]


def _failure(kind: str, status: str, node_result, target_path: Path | None) -> str:
    """What failed and where to look: a failing test's row count and the query that
    lists those rows; a model's error in one line."""
    node = node_result.node
    if status == "fail":
        rows = node_result.failures or 0
        compiled = getattr(node, "compiled_path", None)
        where = f"; its query lists them: {target_path / compiled}" if compiled else ""
        return f"{kind} {node.name}: {rows:,} row(s) break it{where}"
    return f"{kind} {node.name}: {_first_line(node_result.message)}"


def _first_line(message: object) -> str:
    """The line that says what is wrong: dbt's own errors open with a bare title
    ("Compilation Error") and say it further down, on dbt-spark's after a second
    title ("Runtime Error in model m (path)", "Runtime Error", the engine's words)."""
    lines = [line.strip() for line in str(message or "error").splitlines() if line.strip()]
    if not lines:
        return "error"
    said = next((line for line in lines if not _BARE_TITLE.fullmatch(line)), None)
    if said is None or said == lines[0]:
        return lines[0]
    return f"{lines[0]}: {said}"


_BARE_TITLE = re.compile(r"[A-Z][A-Za-z ]* Error( in [a-z_]+ [\w.]+ \([^)]*\))?")


def dbt_environment(target: str):
    """The environment dbt needs for this warehouse (its profile reads it), set while
    the `with` block runs: for a dbt process started from here (Dagster's dbt)."""
    return _environment(settings.dbt_environment(target))


def failures_in_run_results(run_results: dict) -> list[str]:
    """What failed, from dbt's run_results.json (a dbt process's own artifact), in the
    words of a build report: a failing test's row count, a model's error."""
    failures = []
    for result in run_results.get("results", []):
        status = result.get("status")
        if status not in {"error", "fail"}:
            continue
        kind, _, name = result["unique_id"].partition(".")
        name = name.split(".")[-1] if kind != "test" else name.split(".")[1]
        if status == "fail":
            failures.append(f"{kind} {name}: {result.get('failures') or 0:,} row(s) break it")
        else:
            failures.append(f"{kind} {name}: {_first_line(result.get('message'))}")
    return failures


@contextmanager
def _environment(values: dict[str, str]):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
