"""One row per measured figure, the growth between two sizes, and the table."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import Timing, progress

INFORMATIONAL = "-"  # the target of a row that is reported, not judged
# `--larger-size-only`: one size per case (the test suite's run; no growth column)
LARGER_SIZE_ONLY = False


@dataclass
class CaseResult:
    case: str
    rows: int
    project_s: float | None
    raw_s: float | None
    peak_rss_mb: float | None
    target: str
    passed: bool | None  # None: informational
    note: str = ""
    raw_tool: str = ""
    runs: list[float] = field(default_factory=list)
    growth_rows: float | None = None  # on the larger size: its rows / the smaller's
    growth_time: float | None = None  # and its time / the smaller's
    # a build's dbt time and its slowest nodes, from the run's JSON summary
    slowest: str = ""

    @property
    def ratio(self) -> float | None:
        if self.project_s is None or not self.raw_s:
            return None
        return self.project_s / self.raw_s


def ratio_result(
    case: str,
    rows: int,
    project: Timing,
    raw: Timing,
    limit: float | None,
    raw_tool: str,
) -> CaseResult:
    """A project timing against a reference timing; `limit` None: informational."""
    result = CaseResult(case, rows, project.seconds, raw.seconds, project.peak_rss_mb,
                        INFORMATIONAL, None, raw_tool=raw_tool, runs=project.runs)  # fmt: skip
    if limit is not None:
        result.target = f"<= {limit}x"
        result.passed = result.ratio is not None and result.ratio <= limit
    return result


def in_pairs(smaller: list[CaseResult], larger: list[CaseResult]) -> list[CaseResult]:
    """Each row of the smaller size next to its larger-size row, which gets the growth.

    Rows measured at the larger size only (after the pairs) come last.
    """
    rows = []
    for small, large in zip(smaller, larger, strict=False):
        if small.rows and small.project_s:
            large.growth_rows = large.rows / small.rows
            large.growth_time = (large.project_s or 0.0) / small.project_s
        rows += [small, large]
    return rows + larger[len(smaller) :]


def at_two_sizes(
    measure: Callable[[Any, float | None], list[CaseResult]],
    sizes: tuple[Any, Any],
    limits: tuple[float | None, float | None],
    label: Callable[[Any], str] = "{:,} rows".format,
) -> list[CaseResult]:
    """`measure(size, limit)` at the smaller then the larger size, rows paired for growth
    (the larger size alone with `LARGER_SIZE_ONLY`)."""
    pairs = list(zip(sizes, limits, strict=True))
    results = []
    for size, limit in pairs[-1:] if LARGER_SIZE_ONLY else pairs:
        progress(f"  at {label(size)}")
        results.append(measure(size, limit))
    return results[0] if LARGER_SIZE_ONLY else in_pairs(*results)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds:.2f} s"


def _growth(r: CaseResult) -> str:
    if r.growth_rows is None or r.growth_time is None:
        return "-"
    return f"x{r.growth_rows:.1f} rows -> x{r.growth_time:.1f} time"


def _verdict(r: CaseResult) -> str:
    verdict = "-" if r.passed is None else "pass" if r.passed else "FAIL"
    return verdict + (f" ({r.note})" if r.note else "")


def table(results: list[CaseResult]) -> str:
    header = "| case | rows | project | raw tool | ratio | peak RSS | growth | target | result |"
    lines = [header, "|---|---:|---:|---|---:|---:|---|---|---|"]
    for r in results:
        raw = f"{r.raw_tool} {_duration(r.raw_s)}" if r.raw_s else "-"
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        rss = f"{r.peak_rss_mb:,.0f} MB" if r.peak_rss_mb else "-"
        lines.append(
            f"| {r.case} | {r.rows:,} | {_duration(r.project_s)} | {raw} | {ratio} | {rss} "
            f"| {_growth(r)} | {r.target} | {_verdict(r)} |"
        )
    return "\n".join(lines)


def slowest_nodes(results: list[CaseResult]) -> str:
    """Where each measured build spent its time: dbt's own time and its slowest nodes."""
    lines = [f"- {r.case} ({r.rows:,} rows): {r.slowest}" for r in results if r.slowest]
    if not lines:
        return ""
    return "\n\n## Where the builds' time went (dbt's slowest nodes)\n\n" + "\n".join(lines)


def write_results(folder: Path, scale: str, repeat: int, results: list[CaseResult]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (folder / "latest.md").write_text(
        f"# make bench, scale {scale}, {stamp}\n\n{table(results)}{slowest_nodes(results)}\n"
    )
    rows = [asdict(r) | {"ratio": r.ratio} for r in results]
    (folder / "latest.json").write_text(
        json.dumps({"scale": scale, "repeat": repeat, "results": rows}, indent=2)
    )
