"""The jobs the CLI (and later a scheduler) runs: ingest, build, run, demo.

Exit codes: 0 all good; 1 a step failed (dbt error, crash); 3 everything that
could load did, but some input was rejected (see the summary and _quarantine/).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ingest import settings
from ingest.pipeline import (
    IngestReport,
    ingest_event_files,
    ingest_marketplace_files,
    make_pipeline,
)

from .dbt_build import BuildReport, dbt_build
from .errors import EXIT_FAILED, EXIT_OK, EXIT_REJECTED_INPUT


@dataclass
class RunSummary:
    ingests: list[tuple[str, IngestReport]] = field(default_factory=list)  # (what, report)
    build: BuildReport | None = None
    rejected_rows: dict[str, int] = field(default_factory=dict)  # quality mart -> rows

    @property
    def rejected_files(self) -> int:
        return sum(len(report.rejected) for _, report in self.ingests)

    def exit_code(self) -> int:
        if self.build is not None and not self.build.success:
            return EXIT_FAILED
        return EXIT_REJECTED_INPUT if self.rejected_files else EXIT_OK

    def print(self) -> None:
        print("\nSummary")
        for what, report in self.ingests:
            for line in report.lines():
                print(f"  {what}: {line}" if not line.startswith("  ") else f"  {line}")
        if self.build is not None:
            for line in self.build.lines():
                print(f"  {line}")
        for mart, rows in self.rejected_rows.items():
            print(f"  rejected by validation: {rows:,} rows (file, row and reason in marts.{mart})")


def ingest(inbox: str, target: str, summary: RunSummary) -> None:
    print(f"Ingesting marketplace files from {inbox} into {target} raw ...", file=sys.stderr)
    summary.ingests.append(("marketplace files", ingest_marketplace_files(inbox, target)))


def ingest_events(inbox: str, target: str, summary: RunSummary) -> None:
    print(f"Ingesting web-shop events from {inbox} into {target} raw ...", file=sys.stderr)
    summary.ingests.append(("web-shop events", ingest_event_files(inbox, target)))


def build(
    target: str,
    summary: RunSummary,
    quiet: bool = False,
    unit_tests: bool = False,
    verbose: bool = False,
) -> None:
    print(f"Running dbt build on {target} ...", file=sys.stderr)
    summary.build = dbt_build(target, quiet=quiet, unit_tests=unit_tests, verbose=verbose)
    if summary.build.success:
        summary.rejected_rows = count_rejected_rows(target)


QUALITY_MARTS = ("marketplace_rejected_rows", "shop_rejected_events")


def count_rejected_rows(target: str) -> dict[str, int]:
    counts = {}
    try:
        with make_pipeline(target).sql_client() as client:
            for mart in QUALITY_MARTS:  # constants, not data
                rows = client.execute_sql(f"select count(*) from marts.{mart}")  # noqa: S608
                counts[mart] = int(rows[0][0])
    except Exception:  # the summary must not fail the run; a mart may not be built yet
        return counts
    return counts


def demo(target: str, inbox: str | None = None) -> RunSummary:
    """Write sample deliveries, ingest them in two batches (originals, then
    corrected re-deliveries), write and ingest a week of web-shop events,
    build the marts and summarise."""
    from samples.events import EventConfig, write_events
    from samples.marketplace_files import write_redeliveries, write_sample_inbox

    demo_inbox = Path(inbox) if inbox else settings.PROJECT_ROOT / "data" / "demo_inbox"
    shutil.rmtree(demo_inbox, ignore_errors=True)
    summary = RunSummary()
    written = write_sample_inbox(demo_inbox)
    print(
        f"Wrote {len(written)} sample files (some bad on purpose) to {demo_inbox}", file=sys.stderr
    )
    ingest(str(demo_inbox), target, summary)
    written = write_redeliveries(demo_inbox)
    print(f"Wrote {len(written)} corrected re-deliveries", file=sys.stderr)
    ingest(str(demo_inbox), target, summary)
    events_inbox = demo_inbox.parent / "demo_events"
    shutil.rmtree(events_inbox, ignore_errors=True)
    write_events(EventConfig(customers=2_000, days=7), events_inbox, progress=False)
    ingest_events(str(events_inbox), target, summary)
    build(target, summary)
    return summary
