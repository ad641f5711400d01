"""The jobs the CLI (and later a scheduler) runs: ingest, build, run, demo.

Exit codes (orchestration.errors): 0 all good; 1 a step failed (dbt error,
crash); 3 everything that could load did, but this run rejected files, rows or
events (see the summary, _quarantine/ and the rejected-rows marts).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ingest import settings
from ingest.pipeline import (
    IngestReport,
    ingest_event_files,
    ingest_exchange_rates,
    ingest_marketplace_files,
)

from .build_plan import BuildPlan, forget_green_build, record_green_build
from .dbt_build import (
    BuildReport,
    FreshnessReport,
    dbt_build,
    parse_project,
    source_freshness,
)
from .errors import EXIT_FAILED, EXIT_OK, EXIT_REJECTED_INPUT
from .publish import PublishReport, publish_marts, withhold
from .read_marts import fetch_rows, marts_connection


@dataclass
class RejectedRows:
    """Rows a quality mart lists: those this run's build staged, and all of them."""

    mart: str
    this_run: int
    in_warehouse: int


@dataclass
class MissingRates:
    """(mart, currency, day) rows of marts.fx_missing_rates: amounts with no USD."""

    days: int
    currencies: list[str]


@dataclass
class RunSummary:
    target: str = "duckdb"
    ingests: list[tuple[str, IngestReport]] = field(default_factory=list)  # (what, report)
    build: BuildReport | None = None
    rejected_rows: list[RejectedRows] = field(default_factory=list)
    missing_rates: MissingRates | None = None
    # reported only: a stale source never changes the exit code
    freshness: FreshnessReport | None = None
    report: Path | None = None  # the HTML report the demo wrote
    plan: BuildPlan | None = None  # what `run` chose to build (build_plan.py)
    publish: PublishReport | None = None  # DuckDB: the marts' copy BI reads

    @property
    def rejected_files(self) -> int:
        return sum(len(report.rejected) for _, report in self.ingests)

    @property
    def rejected_rows_this_run(self) -> int:
        return sum(rows.this_run for rows in self.rejected_rows)

    def exit_code(self) -> int:
        if self.build is not None and not self.build.success:
            return EXIT_FAILED
        rejected = self.rejected_files or self.rejected_rows_this_run
        return EXIT_REJECTED_INPUT if rejected else EXIT_OK

    def lines(self) -> list[str]:
        lines = ["Summary"]
        for what, report in self.ingests:
            for line in report.lines():
                lines.append(f"  {what}: {line}" if not line.startswith("  ") else f"  {line}")
        if self.plan is not None and (self.plan.nothing or self.plan.select):
            lines.append(f"  {self.plan.line()}")
        if self.build is not None:
            lines += [f"  {line}" for line in self.build.lines()]
        for rows in self.rejected_rows:
            lines.append(
                f"  rejected {REJECTED_WHAT[rows.mart]} this run: {rows.this_run:,} "
                f"({rows.in_warehouse:,} in all; each with its reason in marts.{rows.mart})"
            )
        if self.missing_rates and self.missing_rates.days:
            lines.append(
                f"  no exchange rate for {self.missing_rates.days:,} (mart, currency, day): "
                f"{', '.join(self.missing_rates.currencies)} amounts there have null USD "
                "(see marts.fx_missing_rates)"
            )
        if self.freshness is not None:
            lines += [f"  {line}" for line in self.freshness.lines()]
        if self.publish is not None:
            lines.append(f"  {self.publish.line()}")
        lines.append(f"  warehouse: {settings.describe_warehouse(self.target)}")
        lines += [f"  next: {step}" for step in self.next_steps()]
        return lines

    def next_steps(self) -> list[str]:
        if self.build is not None and not self.build.success:
            return [f"read the failures above and dbt's log {self.build.log_path}"]
        steps = []
        for _, report in self.ingests:
            if report.rejected:
                steps.append(
                    f"see the rejected files in {report.quarantine}/ (each beside its .reason)"
                )
        steps += [
            f"look at the {REJECTED_WHAT[rows.mart]} in marts.{rows.mart}"
            for rows in self.rejected_rows
            if rows.this_run
        ]
        if self.missing_rates and self.missing_rates.days:
            steps.append("refresh the ECB rates or add overrides (README, 'Exchange rates')")
        if self.build is None and self.plan is None:
            steps.append(f"warehouse build --target {self.target}   (builds the marts)")
        elif self.build is None:
            steps.append("the marts are as the last green build left them")
        else:
            steps.append("query marts.sku_sales, marts.fact_sales or marts.shop_daily_metrics")
        if self.report is not None:
            steps.append(f"open the report {self.report}")
        return steps

    def as_dict(self) -> dict:
        """The summary for machines (`--json`)."""
        return {
            "exit_code": self.exit_code(),
            "target": self.target,
            "warehouse": settings.describe_warehouse(self.target),
            "ingests": [
                {
                    "what": what,
                    "files_loaded": report.files_loaded,
                    "rows_landed": report.rows_landed,
                    "files_skipped": report.files_skipped,
                    "files_rejected": [
                        {"file": name, "reason": reason} for name, reason in report.rejected
                    ],
                    "load_id": report.load_id,
                    "seconds": round(report.seconds, 3),
                }
                for what, report in self.ingests
            ],
            "build": None
            if self.build is None
            else {
                "success": self.build.success,
                "failures": self.build.failures,
                "log": str(self.build.log_path) if self.build.log_path else None,
                "seconds": round(self.build.seconds, 3),
                "slowest": [
                    {"node": node, "seconds": seconds} for node, seconds in self.build.slowest
                ],
            },
            "rejected_rows": {
                rows.mart: {"this_run": rows.this_run, "in_warehouse": rows.in_warehouse}
                for rows in self.rejected_rows
            },
            "missing_rates": None
            if self.missing_rates is None
            else {
                "days": self.missing_rates.days,
                "currencies": self.missing_rates.currencies,
            },
            "source_freshness": None if self.freshness is None else self.freshness.as_dict(),
            "published": None if self.publish is None else self.publish.as_dict(),
            "build_plan": None
            if self.plan is None
            else {
                "reason": self.plan.reason,
                "select": self.plan.select,
                "full_refresh": self.plan.full_refresh,
                "skipped": self.plan.nothing,
            },
        }


REJECTED_WHAT = {
    "marketplace_rejected_rows": "marketplace rows",
    "shop_rejected_events": "web-shop events",
}


def ingest(inbox: str, target: str, summary: RunSummary, rehash: bool = False) -> None:
    print(f"Ingesting marketplace files from {inbox} into {target} raw ...", file=sys.stderr)
    report = ingest_marketplace_files(inbox, target, rehash=rehash)
    summary.ingests.append(("marketplace files", report))


def ingest_events(inbox: str, target: str, summary: RunSummary, rehash: bool = False) -> None:
    print(f"Ingesting web-shop events from {inbox} into {target} raw ...", file=sys.stderr)
    summary.ingests.append(("web-shop events", ingest_event_files(inbox, target, rehash=rehash)))


def ingest_rates(
    target: str, summary: RunSummary, sources: list[str], inbox: str | None = None
) -> None:
    """The ECB reference rates every USD figure is converted with (cheap when unchanged:
    a file already loaded is hashed, not read again)."""
    print(f"Loading ECB exchange rates into {target} raw ...", file=sys.stderr)
    summary.ingests.append(("exchange rates", ingest_exchange_rates(sources, target, inbox)))


def build(
    target: str,
    summary: RunSummary,
    quiet: bool = False,
    unit_tests: bool = False,
    verbose: bool = False,
    plan: BuildPlan | None = None,
    tests_on_new_loads_only: bool = False,
) -> None:
    """dbt build of everything, or of what `plan` says (nothing at all when no load
    completed since the last green build); data tests on every row, or on the rows
    of new loads."""
    summary.plan = plan
    if plan is not None and plan.nothing:
        print(f"{plan.line()}", file=sys.stderr)
        return
    print(f"Running dbt build on {target} ...", file=sys.stderr)
    # rows this build stages carry a staged_at at or after its start
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    select = plan.dbt_args if plan is not None else None
    manifest = parse_project(target)  # one parse for the build and the freshness check
    summary.build = dbt_build(
        target,
        select,
        quiet=quiet,
        unit_tests=unit_tests,
        verbose=verbose,
        tests_on_new_loads_only=tests_on_new_loads_only,
        manifest=manifest,
    )
    if summary.build.success:
        summary.rejected_rows = count_rejected_rows(target, started)
        summary.missing_rates = count_missing_rates(target)
        summary.freshness = source_freshness(target, manifest=manifest)
    else:
        forget_green_build(target)  # what it left half-built is rebuilt next time
    if target == "duckdb":  # only marts whose tests all passed reach BI's file
        summary.publish = (
            publish_marts(target) if summary.build.success else withhold("the build failed")
        )
    if summary.build.success:  # last: a run killed before this builds (and publishes) again
        record_green_build(target, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"))


def count_missing_rates(target: str) -> MissingRates:
    with marts_connection(target, "warehouse run: missing rates") as connection:
        rows = fetch_rows(
            connection,
            "select currency_code, count(*) from marts.fx_missing_rates "
            "group by currency_code order by currency_code",
        )
    return MissingRates(
        sum(int(count) for _, count in rows or []),
        [str(currency) for currency, _ in rows or []],
    )


def count_rejected_rows(target: str, since: dt.datetime) -> list[RejectedRows]:
    """Rows each quality mart lists, staged since `since` and in all."""
    since_literal = since.strftime("%Y-%m-%d %H:%M:%S.%f")  # formatted here, not data
    counts = []
    with marts_connection(target, "warehouse run: rejected rows") as connection:
        for mart in REJECTED_WHAT:  # constants, not data
            ((total, this_run),) = fetch_rows(
                connection,
                "select count(*), "  # noqa: S608
                f"sum(case when staged_at >= cast('{since_literal}' as timestamp) "
                f"then 1 else 0 end) from marts.{mart}",
            )
            counts.append(RejectedRows(mart, int(this_run or 0), int(total)))
    return counts


def demo(target: str, inbox: str | None = None) -> RunSummary:
    """Write sample deliveries, ingest them in two batches (originals, then
    corrected re-deliveries), write and ingest the web-shop events of the week
    up to now, build the marts and summarise."""
    from samples.events import EventConfig, write_events
    from samples.marketplace_files import write_redeliveries, write_sample_inbox

    demo_inbox = Path(inbox) if inbox else settings.PROJECT_ROOT / "data" / "demo_inbox"
    shutil.rmtree(demo_inbox, ignore_errors=True)
    if target == "duckdb" and settings.duckdb_path() == settings.demo_duckdb_path():
        forget_warehouse()  # the demo's own file: start from scratch every time
    summary = RunSummary(target)
    written = write_sample_inbox(demo_inbox)
    print(
        f"Wrote {len(written)} sample files (some bad on purpose) to {demo_inbox}", file=sys.stderr
    )
    ingest_rates(target, summary, [])
    ingest(str(demo_inbox), target, summary)
    written = write_redeliveries(demo_inbox)
    print(f"Wrote {len(written)} corrected re-deliveries", file=sys.stderr)
    ingest(str(demo_inbox), target, summary)
    events_inbox = demo_inbox.parent / "demo_events"
    shutil.rmtree(events_inbox, ignore_errors=True)
    # a week up to now, so the trailing 4 hours (`warehouse attention`) are busy; events
    # dated today find no exchange rate in the bundled ECB rates, and the summary says so
    config = EventConfig.ending_at(utc_now(), days=7, customers=2_000)
    write_events(config, events_inbox, progress=False)
    ingest_events(str(events_inbox), target, summary)
    build(target, summary)
    if summary.build is not None and summary.build.success:
        from .report import write_report

        summary.report = write_report(target, settings.report_path()).path
    return summary


def utc_now() -> dt.datetime:
    """The demo's clock (a function, so a test can stop it at an hour of its choosing)."""
    return dt.datetime.now(dt.UTC)


def forget_warehouse() -> None:
    """Delete the DuckDB warehouse file and its local dlt state (only ever called for
    the demo's own file)."""
    path = settings.duckdb_path()
    for leftover in (path, Path(f"{path}.wal")):
        leftover.unlink(missing_ok=True)
    identity = settings.warehouse_identity("duckdb")
    for state in settings.dlt_pipelines_dir().glob(f"*_duckdb_{identity}"):
        shutil.rmtree(state, ignore_errors=True)
